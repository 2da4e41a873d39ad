import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // forks: each test file gets its own process, so a native crash names its file.
    pool: 'forks',
    testTimeout: 60_000,
    // The JSON summary is what .ci/run turns into CI's "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    hookTimeout: 60_000,
  },
});
