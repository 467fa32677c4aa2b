import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{core,parsers,ingest,store,query-api,alerts,capture,cli,test}/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'ui/**', 'test/e2e/**'],
    // The embedded ClickHouse engine allows one engine per process: every test file gets its own fork.
    globalSetup: ['test/temp-root.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
