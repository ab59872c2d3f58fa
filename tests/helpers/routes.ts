/**
 * Every route Fastify serves, as `METHOD /path` (`:param` templates), read from its printRoutes
 * tree, each checked to be a real route.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';

/**
 * `METHOD /path` for every route in Fastify's printRoutes tree (a child prints its suffix only).
 * A wildcard below a prefix its static siblings share (`static/a.js`, `static/b.js`, `*`) is
 * printed without that prefix: it is `static/*`.
 */
export function parseRouteTree(tree: string): { routes: string[]; unparsed: string[] } {
  const stack: string[] = [];
  const siblings: string[][] = [];
  const routes: string[] = [];
  const unparsed: string[] = [];
  for (const line of tree.split('\n').filter((l) => l.trim())) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m || m[1].length % 4) {
      unparsed.push(line);
      continue;
    }
    const depth = m[1].length / 4;
    stack.length = depth;
    siblings.length = depth + 1;
    const before = (siblings[depth] ??= []);
    const prefix = before.length > 0 ? before[0].slice(0, before[0].indexOf('/', 1) + 1) : '';
    const shared = prefix.length > 1 && before.every((sibling) => sibling.startsWith(prefix)) ? prefix : '';
    const label = m[2] === '*' ? `${shared}*` : m[2];
    before.push(label);
    stack.push(label);
    for (const method of m[3]?.split(', ') ?? []) routes.push(`${method} ${stack.join('')}`);
  }
  return { routes: routes.sort(), unparsed };
}

/** The routes of a server, each one Fastify confirms it has (the CORS preflight `OPTIONS *` aside). */
export function registeredRoutes(http: FastifyInstance): { routes: string[]; unparsed: string[]; unknown: string[] } {
  const { routes, unparsed } = parseRouteTree(http.printRoutes({ commonPrefix: false }));
  const unknown = routes.filter((r) => {
    const [method, url] = r.split(' ');
    return url !== '*' && !http.hasRoute({ method: method as HTTPMethods, url });
  });
  return { routes, unparsed, unknown };
}
