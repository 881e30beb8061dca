/**
 * Builds the HNSW index over the item matrix in worker threads, so the main thread stays free for
 * the stages that overlap with the build (user embedding, writing the other files).
 *
 * hnswlib-node inserts one point at a time on one thread. With shards > 1 the catalog is split
 * into contiguous ranges, each built by its own thread into its own file, and queries merge the
 * shards' answers (see hnswQuery.ts). Labels are global item rows in every shard.
 */
import path from 'node:path';
import type { Progress } from '../shared/log.js';
import type { HnswBuildJob } from './workers/protocol.js';
import { runWorker } from './workers/runWorker.js';
import { startWorker } from '../shared/workers/startWorker.js';

export interface HnswParams {
  M: number;
  efConstruction: number;
  ef: number;
  seed?: number;
}

export const HNSW_WORKER = new URL('./workers/hnswWorker.js', import.meta.url);

/** The index file of shard s of a version: hnsw.bin for the first, hnsw.<s>.bin after it. */
export function hnswShardFile(dir: string, shard: number): string {
  return path.join(dir, shard === 0 ? 'hnsw.bin' : `hnsw.${shard}.bin`);
}

/** Splits rows into `shards` contiguous ranges of near-equal size. */
export function shardRanges(rows: number, shards: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < shards; s++) out.push([Math.floor((s * rows) / shards), Math.floor(((s + 1) * rows) / shards)]);
  return out;
}

export interface HnswFiles {
  files: string[];
  /** Points in all files together, as the workers counted them after building. */
  indexed: number;
  /** CPU time the build threads spent, summed (-1 where the platform cannot say). */
  cpuMs: number;
}

/** Builds `shards` index files in `dir` from a shared items × dim matrix. */
export async function buildHnswFiles(
  vectors: Float32Array,
  items: number,
  dim: number,
  p: HnswParams,
  dir: string,
  shards: number,
  progress?: Progress,
  signal?: AbortSignal,
): Promise<HnswFiles> {
  const shared = asShared(vectors);
  const ranges = shardRanges(items, Math.max(1, Math.min(shards, items)));
  const done = ranges.map(() => 0);
  const files = ranges.map((_, s) => hnswShardFile(dir, s));
  let cpuMs = 0;
  // Aborting asks the workers to stop (see HnswBuildJob.stop) rather than terminating them.
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const counts = await Promise.all(
    ranges.map(([from, to], s) => {
      const job: HnswBuildJob = { kind: 'build', vectors: shared, dim, from, to, M: p.M, efConstruction: p.efConstruction, seed: p.seed ?? 100, file: files[s], stop: stop.buffer as SharedArrayBuffer };
      return runWorker(startWorker(HNSW_WORKER, job), {
        signal,
        stop,
        onDone: (m) => (cpuMs = cpuMs < 0 || (m.cpuMs ?? -1) < 0 ? -1 : cpuMs + (m.cpuMs ?? 0)),
        onProgress: (n) => {
          done[s] = n;
          progress?.tick(done.reduce((a, b) => a + b, 0));
        },
      });
    }),
  );
  progress?.end();
  return { files, indexed: counts.reduce((a, b) => a + b, 0), cpuMs };
}

/** The SharedArrayBuffer behind a matrix (the indexer allocates them shared, so this is no copy). */
export function asShared(a: Float32Array | Int32Array): SharedArrayBuffer {
  if (a.buffer instanceof SharedArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) return a.buffer;
  const sab = new SharedArrayBuffer(a.byteLength);
  new Uint8Array(sab).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return sab;
}
