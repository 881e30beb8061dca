/**
 * Exact top-K by brute force inside onnxruntime: one MatMul of a user batch against the whole
 * (transposed) item matrix, then TopK. ORT's MatMul is blocked and multi-threaded, so this beats
 * HNSW for catalogs small enough that users × items × dim stays cheap.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../models/onnx/builder.js';

/** Scores held at once (users in a batch × items): bounds the batch's memory to 128 MB. */
const MAX_SCORES = 1 << 25;

export class ExactTopK {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly itemsT: ort.Tensor,
    readonly items: number,
    readonly dim: number,
  ) {}

  /** threads: onnxruntime intra-op threads, 0 for its default (all cores). */
  static async create(embeddings: Float32Array, items: number, dim: number, threads = 0): Promise<ExactTopK> {
    const g = new GraphBuilder('exact_topk');
    g.input('users', 'float32', ['batch', dim]);
    g.input('items_t', 'float32', [dim, 'items']);
    g.input('k', 'int64', [1]);
    const scores = g.op('MatMul', ['users', 'items_t']);
    g.node('TopK', [scores, 'k'], ['values', 'indices'], { axis: 1, largest: 1, sorted: 1 });
    g.output('values', 'float32', ['batch', 'k']);
    g.output('indices', 'int64', ['batch', 'k']);
    const session = await ort.InferenceSession.create(g.toBytes(), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
    const t = new Float32Array(items * dim);
    for (let i = 0; i < items; i++) for (let d = 0; d < dim; d++) t[d * items + i] = embeddings[i * dim + d];
    return new ExactTopK(session, new ort.Tensor('float32', t, [dim, items]), items, dim);
  }

  /** The largest user batch whose score matrix stays within the memory bound. */
  get maxBatch(): number {
    return Math.max(1, Math.floor(MAX_SCORES / this.items));
  }

  /** Top-k item indices and scores for each of `n` users (n × dim, row-major), best first. */
  async search(users: Float32Array, n: number, k: number): Promise<{ indices: Int32Array; scores: Float32Array; k: number }> {
    const kk = Math.min(k, this.items);
    const indices = new Int32Array(n * kk);
    const scores = new Float32Array(n * kk);
    const kTensor = new ort.Tensor('int64', BigInt64Array.from([BigInt(kk)]), [1]);
    for (let start = 0; start < n; start += this.maxBatch) {
      const m = Math.min(this.maxBatch, n - start);
      // A copy into a plain buffer: the user matrix may live in shared memory.
      const batch = Float32Array.from(users.subarray(start * this.dim, (start + m) * this.dim));
      const out = await this.session.run({ users: new ort.Tensor('float32', batch, [m, this.dim]), items_t: this.itemsT, k: kTensor });
      const idx = out.indices.data as BigInt64Array;
      for (let i = 0; i < idx.length; i++) indices[start * kk + i] = Number(idx[i]);
      scores.set(out.values.data as Float32Array, start * kk);
    }
    return { indices, scores, k: kk };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
