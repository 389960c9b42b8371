import { defineConfig } from 'vitest/config';

/**
 * Unit and integration tests. Test files run in parallel worker processes; integration files may
 * each start their own lab (see test/support/lab.ts), which takes seconds, hence the timeouts.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
