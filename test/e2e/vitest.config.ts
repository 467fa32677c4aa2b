import { defineConfig } from 'vitest/config';

// Browser tests: `handlog serve` as a child process, real syslog over UDP/TCP, Debian's chromium
// driven by playwright-core. Run with `npm run test:e2e` (after `npm run build`).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/temp-root.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
