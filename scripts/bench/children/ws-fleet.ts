/**
 * A fleet of subscribers in one process: one WebSocket per subscribed project, as one browser
 * console each. `graphql` mode uses the graphql-ws client with the console's ProvisionStatus
 * subscription; `raw` mode speaks the raw baseline's one-message protocol. Every event carries
 * its publish time (`bench t=<ms>`), so each receipt gives a publish-to-receive latency.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { wallNow } from '../lib/fanout.mjs';
import { serveParent } from '../lib/child.mjs';

/** client/src/graphql/operations/provision-status.graphql */
export const PROVISION_STATUS = `subscription ProvisionStatus($projectId: Int!, $afterSeq: Int) {
  provisionStatus(projectId: $projectId, afterSeq: $afterSeq) {
    projectId
    seq
    kind
    status
    message
    data
    at
  }
}`;

interface ConnectParams {
  mode: 'graphql' | 'raw';
  url: string;
  token: string;
  projectIds: number[];
  concurrency: number;
  timeoutMs: number;
}

const closers: (() => void)[] = [];
let latencies: number[] = [];
let receivedAt: number[] = [];
let errors = 0;
let unexpectedEnds = 0;
const errorSamples: string[] = [];

function noteError(message: string): void {
  errors++;
  if (errorSamples.length < 5) errorSamples.push(message.slice(0, 300));
}

function onEvent(seq: number, message: string | null | undefined): boolean {
  if (seq === 1) return true; // the stored event: the subscription is live
  const now = wallNow();
  const stamp = Number(String(message ?? '').slice('bench t='.length));
  if (!Number.isFinite(stamp)) {
    noteError(`event without a stamp: ${message}`);
    return false;
  }
  latencies.push(now - stamp);
  receivedAt.push(now);
  return false;
}

function subscribeGraphql(wsUrl: string, token: string, projectId: number, ready: () => void, failed: (why: string) => void): void {
  let live = false;
  const client: Client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: 0,
    keepAlive: 0,
    shouldRetry: () => false,
    on: {
      closed: (event) => {
        if (live) {
          unexpectedEnds++;
          noteError(`socket closed: ${(event as { code?: number })?.code}`);
        }
      },
    },
  });
  closers.push(() => {
    live = false;
    void client.dispose();
  });
  client.subscribe<{ provisionStatus: { seq: number; message: string | null } }>(
    { query: PROVISION_STATUS, variables: { projectId }, operationName: 'ProvisionStatus' },
    {
      next: (result) => {
        const event = result.data?.provisionStatus;
        if (!event) {
          if (!live) failed(JSON.stringify(result.errors ?? result).slice(0, 300));
          else noteError(JSON.stringify(result.errors ?? result));
          return;
        }
        if (onEvent(event.seq, event.message) && !live) {
          live = true;
          ready();
        }
      },
      error: (err) => {
        const why = err instanceof Error ? err.message : JSON.stringify(err).slice(0, 300);
        if (!live) failed(why);
        else noteError(why);
      },
      complete: () => {
        if (live) {
          unexpectedEnds++;
          live = false;
        }
      },
    },
  );
}

function subscribeRaw(wsUrl: string, projectId: number, ready: () => void, failed: (why: string) => void): void {
  let live = false;
  const socket = new WebSocket(wsUrl);
  closers.push(() => {
    live = false;
    socket.terminate();
  });
  socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', id: randomUUID(), projectId })));
  socket.on('message', (data) => {
    const m = JSON.parse(String(data)) as { payload: { data: { provisionStatus: { seq: number; message: string | null } } } };
    const event = m.payload.data.provisionStatus;
    if (onEvent(event.seq, event.message) && !live) {
      live = true;
      ready();
    }
  });
  socket.on('error', (err) => {
    if (!live) failed(err.message);
    else noteError(err.message);
  });
  socket.on('close', (code) => {
    if (live) {
      unexpectedEnds++;
      noteError(`socket closed: ${code}`);
    } else failed(`closed before the first event (${code})`);
  });
}

/** Opens the subscriptions, at most `concurrency` handshakes at a time; resolves when each got its first event. */
async function connectAll(p: ConnectParams): Promise<{ live: number; failed: number; ms: number; failures: string[] }> {
  const wsUrl = p.url.replace(/^http/, 'ws') + '/graphql';
  const started = performance.now();
  let next = 0;
  let live = 0;
  let failedCount = 0;
  const failures: string[] = [];
  const deadline = Date.now() + p.timeoutMs;
  const one = (projectId: number) =>
    new Promise<void>((resolve) => {
      let settled = false;
      const settle = (ok: boolean, why?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (ok) live++;
        else {
          failedCount++;
          if (failures.length < 5) failures.push(`project ${projectId}: ${why}`);
        }
        resolve();
      };
      const timer = setTimeout(() => settle(false, 'no first event in time'), Math.max(1000, deadline - Date.now()));
      if (p.mode === 'graphql') subscribeGraphql(wsUrl, p.token, projectId, () => settle(true), (why) => settle(false, why));
      else subscribeRaw(wsUrl, projectId, () => settle(true), (why) => settle(false, why));
    });
  const worker = async () => {
    while (next < p.projectIds.length) await one(p.projectIds[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(p.concurrency, p.projectIds.length) }, worker));
  return { live, failed: failedCount, ms: performance.now() - started, failures };
}

serveParent(
  {
    connect: connectAll,
    reset: () => {
      latencies = [];
      receivedAt = [];
      errors = 0;
      errorSamples.length = 0;
      return true;
    },
    received: () => latencies.length,
    collect: ({ publishEnd }: { publishEnd: number }) => {
      let byEnd = 0;
      for (const t of receivedAt) if (t <= publishEnd) byEnd++;
      return { received: latencies.length, receivedByEnd: byEnd, latencies: Float64Array.from(latencies), errors, unexpectedEnds, errorSamples: [...errorSamples] };
    },
    closeAll: () => {
      for (const close of closers.splice(0)) close();
      return true;
    },
  },
  () => {
    for (const close of closers.splice(0)) close();
  },
).ready({ pid: process.pid });
