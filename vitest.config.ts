import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Native addons (onnxruntime, hnswlib, lmdb) are safest in forked processes.
    pool: 'forks',
  },
});
