import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Database-backed suites each create their own database, so files can run in parallel,
    // but the machine has two cores: more workers only add contention.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
