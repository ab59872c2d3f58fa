import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type Plugin } from 'vite';
import { onBuildWarning } from './build-warnings';

const backend = process.env.HCMP_BACKEND ?? 'http://localhost:8000';

/** `vite` (dev) answers /playground with playground.html, as the server does (server/app.ts). */
const playgroundPage: Plugin = {
  name: 'hcmp-playground-page',
  configureServer(server) {
    server.middlewares.use((req, _res, next) => {
      if (req.url && /^\/playground(?:\?|$)/.test(req.url)) req.url = req.url.replace('/playground', '/playground.html');
      next();
    });
  },
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [vue(), playgroundPage],
  define: {
    // Vue and vue-i18n feature flags: Composition API only, no devtools in production builds.
    __VUE_OPTIONS_API__: 'false',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'true',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/client', import.meta.url)),
    emptyOutDir: true,
    rollupOptions: {
      // Two pages: the console (SPA) and the GraphQL playground. Its React, GraphiQL and Monaco
      // chunks load only on /playground, never with the console's first load.
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        playground: fileURLToPath(new URL('./playground.html', import.meta.url)),
      },
      // The playground's dependencies' "use client" directives: harmless, silenced (build-warnings.ts).
      onwarn: onBuildWarning,
    },
  },
  worker: {
    // The playground's Monaco workers (src/playground/monaco-workers.ts) are emitted as files
    // of our own origin and started as module workers: no blob: or data: worker, no CDN.
    format: 'es',
  },
  server: {
    proxy: {
      '/api': backend,
      '/healthz': backend,
      // The REST API's OpenAPI document and its reference, served by the server.
      '/openapi.json': backend,
      '/docs': backend,
      '/graphql': { target: backend, ws: true },
      // The terminal's WebSocket (/ws/terminal).
      '/ws': { target: backend, ws: true },
    },
  },
});
