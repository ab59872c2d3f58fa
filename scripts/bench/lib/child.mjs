/**
 * Child side of the benchmark IPC (see ipc.ts for the parent side). Plain JavaScript, so the
 * product server's bench entry (children/product-server.mjs) runs on plain `node`, without a
 * TypeScript loader in the process under test.
 *
 * `serveParent(handlers, onExit)` answers the parent's calls with `handlers` and exits when
 * the parent goes away (IPC channel closed), on SIGTERM and on SIGINT. It refuses to run
 * outside the harness (no IPC channel, or HCMP_BENCH_CHILD unset), which keeps the bench-only
 * hooks of these entry points out of reach of anything but the benchmark parent.
 */
export function serveParent(handlers, onExit) {
  if (typeof process.send !== 'function' || process.env.HCMP_BENCH_CHILD !== '1') {
    console.error('This is a benchmark child process; it is started by `npm run bench` only.');
    process.exit(2);
  }
  const send = (message) => {
    if (process.connected) process.send(message);
  };
  let exiting = false;
  const leave = (code) => {
    if (exiting) return;
    exiting = true;
    const timer = setTimeout(() => process.exit(code), 3000);
    timer.unref();
    Promise.resolve()
      .then(() => onExit?.())
      .catch(() => undefined)
      .finally(() => process.exit(code));
  };
  process.on('disconnect', () => leave(0));
  process.on('SIGTERM', () => leave(0));
  process.on('SIGINT', () => leave(0));
  process.on('message', (message) => {
    if (message?.type !== 'call') return;
    const handler = handlers[message.method];
    if (!handler) {
      send({ type: 'reply', id: message.id, ok: false, error: `unknown method ${message.method}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.params))
      .then(
        (result) => send({ type: 'reply', id: message.id, ok: true, result }),
        (err) => send({ type: 'reply', id: message.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  return {
    ready: (info) => send({ type: 'ready', info: info ?? null }),
    fatal: (err) => {
      send({ type: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      // Give the IPC message a moment to leave before exiting.
      setTimeout(() => process.exit(1), 200);
    },
  };
}
