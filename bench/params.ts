/** The benchmark's fixed inputs, shared by the runner and the build-only entry point. */
import type { BenchVersionParams } from './benchVersion.js';

export const BENCH_DIR = '.twotower/bench-ranker';

export const BENCH_PARAMS: BenchVersionParams = {
  items: 100_000,
  users: 100_000,
  topK: 200,
  seed: 2024,
  interactionsPerUser: 20,
  trainInteractions: 300_000,
  epochs: 1,
};
