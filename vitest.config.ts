import { createRequire } from 'node:module';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  // Compiles .vue files for the console's component tests (tests/client/); server tests are unaffected.
  plugins: [vue()],
  resolve: {
    // Node (and so type-graphql, Apollo) loads graphql's CommonJS entry; Vite would pick its
    // .mjs one. Two copies of graphql break `instanceof` checks, so tests use Node's.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', ...(process.env.HCMP_SKIP_E2E ? ['tests/e2e/**'] : [])],
    pool: 'forks',
    // Two test files at a time (Vitest's default on a 2-core machine is one): most suites wait
    // on servers, databases and fleet hosts, so the whole run takes about 12 minutes there
    // instead of 20, and every suite has been run this way alongside any other.
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
