import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Generous: CI shares two cores between two workers, gateway processes and a real Tryton;
    // tests assert behaviour, never time, so a slow moment must not fail them.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // expect.poll waits up to 30 s (vitest's default is 1 s): a condition the machine is merely
    // slow to reach must not fail a test; one that never holds still fails it.
    expect: { poll: { timeout: 30_000, interval: 50 } },
    // Database-backed suites each create their own database, so files can run in parallel,
    // but the machine has two cores: more workers only add contention.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
