/**
 * Sampled softmax with in-batch negatives over cosine similarity / temperature, with the logQ
 * correction: in-batch negatives are drawn in proportion to popularity, so without subtracting
 * log q(item) the model would learn to push popular items down.
 */
import { gemm, matmulBT } from './dense.js';

export interface InBatchLossInputs {
  /** B × D user embeddings (L2-normalised). */
  U: Float32Array;
  /** B × D item embeddings (L2-normalised); row i is the positive of user row i. */
  V: Float32Array;
  B: number;
  D: number;
  /** Item index of each row: a row whose item equals the positive's is not a negative. */
  items: Int32Array;
  /** log q of each row's item (sampling probability), subtracted from its logit. */
  logQ: Float32Array;
  temperature: number;
}

/** Scratch buffers reused across batches. */
export class InBatchLoss {
  private S = new Float32Array(0);

  /** Returns the mean loss; writes dLoss/dU and dLoss/dV (each B × D). */
  run(inp: InBatchLossInputs, dU: Float32Array, dV: Float32Array): number {
    const { U, V, B, D, items, logQ } = inp;
    const invT = 1 / inp.temperature;
    if (this.S.length < B * B) this.S = new Float32Array(B * B);
    const S = this.S;
    matmulBT(U, V, S, B, D, B);
    let loss = 0;
    // S becomes dLoss/dlogit = (softmax - onehot) / B, times 1/T for the similarity.
    const scale = invT / B;
    for (let i = 0; i < B; i++) {
      const si = i * B;
      const item = items[i];
      let max = -Infinity;
      for (let j = 0; j < B; j++) {
        // An accidental hit (the positive item again) is not a negative.
        const s = j !== i && items[j] === item ? -Infinity : S[si + j] * invT - logQ[j];
        S[si + j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j < B; j++) {
        const e = Math.exp(S[si + j] - max);
        S[si + j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      loss -= Math.log(S[si + i] * inv);
      for (let j = 0; j < B; j++) S[si + j] = S[si + j] * inv * scale;
      S[si + i] -= scale;
    }
    // dU = G·V and dV = Gᵀ·U.
    gemm(S, B, 1, V, D, 1, dU, B, B, D, false);
    gemm(S, 1, B, U, D, 1, dV, B, B, D, false);
    return loss / B;
  }
}
