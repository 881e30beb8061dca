/**
 * Per-user top-K through HNSW, split over worker threads: each loads the index files, answers a
 * contiguous range of users and sends back chunks of candidate lists (seen items already removed).
 * Chunks are handed to `emit` in user order, so the writer sees one ordered stream.
 */
import type { Histories } from '../shared/data/histories.js';
import type { Progress } from '../shared/log.js';
import { HNSW_WORKER, asShared, shardRanges } from './hnswBuild.js';
import type { HnswQueryJob } from './workers/protocol.js';
import { runWorker } from './workers/runWorker.js';
import { startWorker } from '../shared/workers/startWorker.js';

export interface CandidateChunk {
  /** First user of the chunk. */
  start: number;
  count: number;
  /** Candidates of user start + b: items[b*k .. b*k + lens[b]). */
  lens: Int32Array;
  items: Int32Array;
  scores: Float32Array;
  k: number;
}

export interface HnswQueryOptions {
  files: string[];
  dim: number;
  ef: number;
  k: number;
  itemCount: number;
  threads: number;
  /** Users per chunk (default 2048). */
  chunk?: number;
  /** Chunks a worker may have in flight before it waits for the writer (default 8). */
  inFlight?: number;
}

export async function queryHnswInWorkers(
  o: HnswQueryOptions,
  userVectors: Float32Array,
  histories: Histories,
  emit: (c: CandidateChunk) => Promise<void> | void,
  progress?: Progress,
): Promise<{ cpuMs: number }> {
  const users = histories.users;
  const ranges = shardRanges(users, Math.max(1, Math.min(o.threads, users)));
  const credits = new Int32Array(new SharedArrayBuffer(4 * ranges.length));
  credits.fill(o.inFlight ?? 8);
  const shared = { users: asShared(userVectors), offsets: asShared(histories.offsets), seenItems: asShared(histories.items) };
  const chunk = o.chunk ?? 2048;

  // Chunks arrive from the workers in any order; writes are serialised through one chain (the
  // store is keyed by user, so order does not matter) and each written chunk returns its credit.
  let done = 0;
  let received = 0;
  let writing: Promise<void> = Promise.resolve();
  let writeError: unknown = null;
  let cpuMs = 0;
  await Promise.all(
    ranges.map(([from, to], slot) => {
      const job: HnswQueryJob = { kind: 'query', files: o.files, dim: o.dim, ef: o.ef, k: o.k, itemCount: o.itemCount, ...shared, from, to, chunk, credits: credits.buffer as SharedArrayBuffer, slot };
      return runWorker(startWorker(HNSW_WORKER, job), {
        onDone: (m) => (cpuMs = cpuMs < 0 || (m.cpuMs ?? -1) < 0 ? -1 : cpuMs + (m.cpuMs ?? 0)),
        onChunk: (m) => {
          received += m.count;
          const c: CandidateChunk = { start: m.start, count: m.count, lens: m.lens, items: m.items, scores: m.scores, k: o.k };
          writing = writing
            .then(async () => {
              if (writeError === null) await emit(c);
              done += c.count;
              progress?.tick(done);
            })
            .catch((err: unknown) => {
              writeError ??= err;
            })
            .finally(() => {
              Atomics.add(credits, slot, 1);
              Atomics.notify(credits, slot);
            });
        },
      });
    }),
  );
  await writing;
  if (writeError) throw writeError;
  if (received !== users) throw new Error(`HNSW query workers answered ${received} of ${users} users`);
  progress?.end();
  return { cpuMs };
}
