/**
 * The benchmark's inputs, made once and cached under .twotower/bench-indexer/: worlds of n items ×
 * n users (seeded, 40 interactions per user on average) and a dim-64 model trained on a 20k × 20k
 * world. Item and user ids of the big worlds are unknown to that model: they embed through the
 * unknown slot plus their features, which is all a scale test needs. Made by the CLI in child
 * processes, since generating a million users needs several GB of heap.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MODEL_DIR, TRAIN_WORLD, worldDir } from './paths.js';

const BIN = path.resolve('bin/twotower.js');

function twotower(args: string[], heapMb = 4096): void {
  process.stderr.write(`bench: twotower ${args.join(' ')} (cached for later runs)\n`);
  const r = spawnSync(process.execPath, [`--max-old-space-size=${heapMb}`, BIN, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`twotower ${args.join(' ')} failed with ${r.status ?? r.signal}`);
}

export function ensureWorld(size: number): string {
  const dir = worldDir(size);
  if (!existsSync(path.join(dir, 'interactions.arrow'))) {
    twotower(['generate', '--out', dir, '--items', String(size), '--users', String(size), '--seed', '12'], size >= 500_000 ? 14_000 : 4096);
  }
  return dir;
}

export function ensureModel(): string {
  if (!existsSync(path.join(MODEL_DIR, 'manifest.json'))) {
    if (!existsSync(path.join(TRAIN_WORLD, 'interactions.arrow'))) twotower(['generate', '--out', TRAIN_WORLD, '--items', '20000', '--users', '20000', '--seed', '11']);
    twotower(['train', '--data', TRAIN_WORLD, '--out', MODEL_DIR, '--dim', '64', '--seed', '11']);
  }
  return MODEL_DIR;
}
