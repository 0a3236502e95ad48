import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // each test file opens its own Dawn device; two at a time suit CI's 2 cores
    maxWorkers: 2,
    // Dawn's adapter-limit warnings, from workers whose stderr Node cannot redirect (see the file)
    globalSetup: ['tests/setup/quiet-dawn-warnings.ts'],
  },
});
