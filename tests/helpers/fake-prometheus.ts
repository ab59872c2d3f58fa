/**
 * A fake Prometheus for tests: node:http on 127.0.0.1 (random port) answering
 * /api/v1/query with node-exporter-shaped instant vectors for the hosts in `hosts`.
 * `mode = 'slow'` makes it hold every request without answering. With `ranges` set it also
 * answers /api/v1/query_range, each host's series a gentle wave around its instant value, so
 * the console draws charts; without it a range query is a 404 (the "no data" charts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Usage {
  cpu: number;
  memory: number;
  disk: number;
}

export interface FakePrometheus {
  url: string;
  hosts: Map<string, Usage>;
  queries: string[];
  mode: 'ok' | 'slow';
  ranges: boolean;
  close(): Promise<void>;
}

export async function startFakePrometheus(): Promise<FakePrometheus> {
  const fake = { hosts: new Map<string, Usage>(), queries: [] as string[], mode: 'ok' as FakePrometheus['mode'], ranges: false };
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (fake.ranges && url.pathname === '/api/v1/query_range') {
      answerRange(url, res);
      return;
    }
    if (url.pathname !== '/api/v1/query') {
      res.writeHead(404).end();
      return;
    }
    const query = url.searchParams.get('query') ?? '';
    fake.queries.push(query);
    if (fake.mode === 'slow') return; // never answers: H-CMP must give up on its own
    const metric: keyof Usage | undefined = query.includes('node_cpu_seconds_total') ? 'cpu' : query.includes('MemAvailable') ? 'memory' : query.includes('node_filesystem') ? 'disk' : undefined;
    const result = metric
      ? [...fake.hosts].map(([ip, u]) => ({ metric: { instance: `${ip}:9100`, job: 'node' }, value: [Date.now() / 1000, String(u[metric])] }))
      : [];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
  };
  const answerRange = (url: URL, res: ServerResponse) => {
    const query = url.searchParams.get('query') ?? '';
    fake.queries.push(query);
    const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(url.searchParams.get(k)));
    const metric: keyof Usage | undefined = query.includes('node_cpu_seconds_total') ? 'cpu' : query.includes('MemAvailable') ? 'memory' : query.includes('node_filesystem') ? 'disk' : undefined;
    const result = [...fake.hosts]
      .filter(([ip]) => query.includes(ip.replaceAll('.', '\\\\.')))
      .map(([ip, u]) => {
        const level = metric ? u[metric] : 1000 + u.cpu * 10;
        const values: [number, string][] = [];
        for (let t = start, i = 0; t <= end && step > 0; t += step, i++) values.push([t, String(Math.max(0, level + Math.sin(i / 3) * Math.min(5, level / 4)))]);
        return { metric: { instance: `${ip}:9100`, job: 'node' }, values };
      });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }));
  };
  const server: Server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
