/** Where the indexer benchmark keeps its cached worlds, model and embeddings (gitignored). */
import path from 'node:path';

export const BENCH_DIR = path.resolve('.twotower/bench-indexer');
export const MODEL_DIR = path.join(BENCH_DIR, 'model-d64');
export const TRAIN_WORLD = path.join(BENCH_DIR, 'world-20k');

export function worldDir(size: number): string {
  return path.join(BENCH_DIR, size >= 1_000_000 && size % 1_000_000 === 0 ? `world-${size / 1_000_000}m` : `world-${size / 1000}k`);
}

export function cacheDir(size: number): string {
  return path.join(worldDir(size), 'cache');
}
