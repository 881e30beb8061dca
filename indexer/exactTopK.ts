/**
 * Exact top-K by brute force inside onnxruntime: one MatMul of a user batch against the whole
 * (transposed) item matrix, then TopK. ORT's MatMul is blocked and multi-threaded, so this beats
 * HNSW for catalogs small enough that users × items × dim stays cheap.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../models/onnx/builder.js';

export class ExactTopK {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly itemsT: ort.Tensor,
    readonly items: number,
    readonly dim: number,
  ) {}

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

  /** Top-k item indices and scores for each of `n` users (n × dim, row-major). */
  async search(users: Float32Array, n: number, k: number): Promise<{ indices: Int32Array; scores: Float32Array; k: number }> {
    const kk = Math.min(k, this.items);
    const out = await this.session.run({
      users: new ort.Tensor('float32', users.subarray(0, n * this.dim), [n, this.dim]),
      items_t: this.itemsT,
      k: new ort.Tensor('int64', BigInt64Array.from([BigInt(kk)]), [1]),
    });
    const idx = out.indices.data as BigInt64Array;
    const indices = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) indices[i] = Number(idx[i]);
    return { indices, scores: out.values.data as Float32Array, k: kk };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
