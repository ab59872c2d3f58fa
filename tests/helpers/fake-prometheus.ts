/**
 * A fake Prometheus for tests: node:http on 127.0.0.1 (random port) answering
 * /api/v1/query with node-exporter-shaped instant vectors for the hosts in `hosts`.
 * `mode = 'slow'` makes it hold every request without answering.
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
  close(): Promise<void>;
}

export async function startFakePrometheus(): Promise<FakePrometheus> {
  const fake = { hosts: new Map<string, Usage>(), queries: [] as string[], mode: 'ok' as FakePrometheus['mode'] };
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
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
