import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // fuse-native crashes vitest's `threads` pool; forks isolate native addons.
    pool: 'forks',
    include: ['src/**/*.test.ts', 'auth/**/*.test.ts', 'storage-backends/**/*.test.ts', 'interfaces/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
