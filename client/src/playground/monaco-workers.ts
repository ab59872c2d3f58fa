/**
 * Monaco's web workers for the playground's editors, bundled by Vite (`?worker`): each is a
 * file of our own origin under /assets, started as a module worker. Nothing comes from a CDN
 * and no blob: URL is used, so the console's Content-Security-Policy (worker-src falls back to
 * script-src 'self') allows them as they are.
 *
 * GraphiQL ships the same set-up as `graphiql/setup-workers/vite`; this copy only leaves out
 * its console.info on every worker start.
 */
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker.js?worker';
import JsonWorker from 'monaco-editor/esm/vs/language/json/json.worker.js?worker';
import GraphQLWorker from 'monaco-graphql/esm/graphql.worker.js?worker';

interface MonacoEnvironment {
  getWorker(workerId: string, label: string): Worker;
}

(globalThis as typeof globalThis & { MonacoEnvironment?: MonacoEnvironment }).MonacoEnvironment = {
  getWorker(_workerId, label) {
    if (label === 'json') return new JsonWorker();
    if (label === 'graphql') return new GraphQLWorker();
    return new EditorWorker();
  },
};
