/** Runs an embedding function over rows in fixed-size batches into one preallocated matrix. */
import type { Progress } from '../shared/log.js';

export async function embedInBatches<T>(
  rows: readonly T[],
  dim: number,
  batchSize: number,
  embed: (batch: T[]) => Promise<Float32Array>,
  progress?: Progress,
): Promise<Float32Array> {
  const out = new Float32Array(rows.length * dim);
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    out.set(await embed(batch), start * dim);
    progress?.tick(start + batch.length);
  }
  progress?.end();
  return out;
}
