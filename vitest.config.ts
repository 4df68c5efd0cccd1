import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Generous: CI shares two cores between two workers, gateway processes and a real Tryton;
    // tests assert behaviour, never time, so a slow moment must not fail them.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Database-backed suites each create their own database, so files can run in parallel,
    // but the machine has two cores: more workers only add contention.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
