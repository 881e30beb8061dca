/**
 * Micro-batching across concurrent requests. A version's model runs in its own thread
 * (models/workerModel.ts), so N requests arriving in one event-loop turn otherwise make N
 * messages each way and N small runs, each paying the call overhead (tensor wrapping, dispatch,
 * output copy). Calls made in the same turn are coalesced and flushed as one call in the next
 * check phase; under load that is where most calls meet, and when idle it costs one empty loop turn.
 */
import type { UserQuery } from '../../models/types.js';

export type BatchRunner<T, R> = (items: T[]) => Promise<R[]>;

/** Returns a function that queues one item and settles with its own result. */
export function microBatch<T, R>(run: BatchRunner<T, R>, maxItems: number): (item: T) => Promise<R> {
  let queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    run(batch.map((b) => b.item)).then(
      (results) => batch.forEach((b, i) => b.resolve(results[i])),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ item, resolve, reject });
      if (queue.length >= maxItems) flush();
    });
}

export interface ScoreCall {
  features: Float32Array;
  n: number;
}

/** Rows per ranker run at most; beyond a few thousand a bigger batch buys nothing. */
const MAX_RANKER_CALLS = 64;

/** The ranker, batched: one run over the stacked feature rows of every request in the turn. */
export function batchedRanker(
  score: (features: Float32Array, n: number) => Promise<Float32Array>,
  width: number,
): (call: ScoreCall) => Promise<Float32Array> {
  return microBatch<ScoreCall, Float32Array>(async (calls) => {
    if (calls.length === 1) return [await score(calls[0].features, calls[0].n)];
    let rows = 0;
    for (const c of calls) rows += c.n;
    const stacked = new Float32Array(rows * width);
    let at = 0;
    for (const c of calls) {
      stacked.set(c.features.subarray(0, c.n * width), at * width);
      at += c.n;
    }
    const all = await score(stacked, rows);
    let from = 0;
    return calls.map((c) => {
      const part = all.subarray(from, from + c.n);
      from += c.n;
      return part;
    });
  }, MAX_RANKER_CALLS);
}

/** The user tower, batched: one run over every live user of the turn. */
export function batchedUserTower(
  embed: (queries: UserQuery[]) => Promise<Float32Array>,
  dim: number,
): (query: UserQuery) => Promise<Float32Array> {
  return microBatch<UserQuery, Float32Array>(async (queries) => {
    const all = await embed(queries);
    return queries.map((_, i) => all.subarray(i * dim, (i + 1) * dim));
  }, MAX_RANKER_CALLS);
}
