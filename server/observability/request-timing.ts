/**
 * `http_request_duration_seconds`: one onResponse hook times every request Fastify answers, by
 * the route's template (never the URL with its ids), method and status. The label objects are
 * made once per route, method and status and then reused, so a request only looks up its
 * object and observes `reply.elapsedTime`.
 */
import type { FastifyInstance } from 'fastify';
import type { Histogram } from 'prom-client';

export type RequestLabel = 'route' | 'method' | 'status';

/** The route label of a request no route matched (404s, and the console's pages served by the not-found handler). */
export const UNMATCHED_ROUTE = 'unmatched';
/** The route label of the console's files (one route per file, which would be one series per file). */
export const STATIC_ROUTE = 'static';

/** Request durations in seconds: API answers take milliseconds, a slow order or a big history page up to seconds. */
export const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
/** Any other method (on an unmatched route, since no route takes one) is one label value. */
const OTHER_METHOD = METHODS.length;

type Labels = Record<RequestLabel, string>;

/** The label objects of one route, by method and status. */
class RouteLabels {
  private readonly byKey = new Map<number, Labels>();

  constructor(private readonly route: string) {}

  of(method: string, status: number): Labels {
    let m = METHODS.indexOf(method);
    if (m < 0) m = OTHER_METHOD;
    const key = status * 8 + m;
    let labels = this.byKey.get(key);
    if (labels === undefined) {
      labels = { route: this.route, method: m === OTHER_METHOD ? 'other' : METHODS[m], status: String(status) };
      this.byKey.set(key, labels);
    }
    return labels;
  }
}

/**
 * Adds the hooks that time every request into `histogram`. Call before any route is added: the
 * onRoute hook names each route as it is registered (static files as one).
 */
export function timeRequests(http: FastifyInstance, histogram: Histogram<RequestLabel>): void {
  const routes = new Map<string | undefined, RouteLabels>([[undefined, new RouteLabels(UNMATCHED_ROUTE)]]);
  http.addHook('onRoute', (route) => {
    // @fastify/static serves each file as a route of its own, marked by config.file.
    const isFile = (route.config as { file?: unknown } | undefined)?.file !== undefined;
    if (!routes.has(route.url)) routes.set(route.url, new RouteLabels(isFile ? STATIC_ROUTE : route.url));
  });
  http.addHook('onResponse', (request, reply, done) => {
    const url = request.routeOptions.url;
    let route = routes.get(url);
    if (route === undefined) {
      // A route added past the onRoute hook: its template is still a template, never a raw URL.
      route = new RouteLabels(url ?? UNMATCHED_ROUTE);
      routes.set(url, route);
    }
    histogram.observe(route.of(request.method, reply.statusCode), reply.elapsedTime / 1000);
    done();
  });
}
