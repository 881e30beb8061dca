/**
 * Softmax over the whole catalog for a batch of users, each with several target items: the loss
 * of the user-level trainer. With every item a negative there is no sampling bias to correct
 * (no logQ term), and one user embedding serves all of its targets, so an epoch costs
 * users × items × dim instead of pairs × items × dim.
 *
 *   logit(u, i) = cos(u, i) / T, minus infinity for the user's input (seen) items
 *   loss(u)     = -(1/|targets(u)|) Σ_{t ∈ targets(u)} log softmax(u)_t
 * Each user counts the same whatever its number of targets, as in the evaluation's mean over users.
 */
import { gemm, matmul, matmulBT } from './dense.js';

export interface FullSoftmaxBatch {
  /** B × D user embeddings (L2-normalised). */
  U: Float32Array;
  /** N × D embeddings of every item (L2-normalised). */
  V: Float32Array;
  B: number;
  N: number;
  D: number;
  /** CSR over users: targets of user r are targets[targetStart[r] .. targetStart[r+1]-1]. */
  targetStart: Int32Array;
  targets: Int32Array;
  /** CSR over users: items left out of user r's softmax (its input items). */
  maskStart: Int32Array;
  mask: Int32Array;
  temperature: number;
}

export class FullSoftmaxLoss {
  private S = new Float32Array(0);

  /** Returns the mean loss over users; writes dLoss/dU (B × D) and dLoss/dV (N × D). */
  run(b: FullSoftmaxBatch, dU: Float32Array, dV: Float32Array): number {
    const { U, V, B, N, D } = b;
    const invT = 1 / b.temperature;
    if (this.S.length < B * N) this.S = new Float32Array(B * N);
    const S = this.S;
    matmulBT(U, V, S, B, D, N);
    let loss = 0;
    for (let r = 0; r < B; r++) {
      const row = S.subarray(r * N, (r + 1) * N);
      for (let k = b.maskStart[r]; k < b.maskStart[r + 1]; k++) row[b.mask[k]] = -Infinity;
      let max = -Infinity;
      for (let i = 0; i < N; i++) {
        const s = row[i] * invT;
        row[i] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let i = 0; i < N; i++) {
        const e = Math.exp(row[i] - max);
        row[i] = e;
        sum += e;
      }
      const t0 = b.targetStart[r];
      const t1 = b.targetStart[r + 1];
      const nt = t1 - t0;
      const inv = 1 / sum;
      // dLoss/dlogit = softmax - (1/|targets|) on each target, over B users, times 1/T for the cosine.
      const scale = invT / B;
      for (let i = 0; i < N; i++) row[i] *= inv * scale;
      if (nt === 0) {
        row.fill(0);
        continue;
      }
      for (let k = t0; k < t1; k++) {
        const t = b.targets[k];
        loss -= Math.log(Math.max(row[t] / scale, 1e-30)) / nt;
        row[t] -= scale / nt;
      }
    }
    // dU = G·V (B × D) and dV = Gᵀ·U (N × D).
    matmul(S, V, dU, B, N, D);
    gemm(S, 1, N, U, D, 1, dV, N, B, D, false);
    return loss / B;
  }
}
