/**
 * Dense math for the trainer: matrix products over row-major Float32Array, and Adam.
 */

/**
 * C[M,N] (+)= Σ_k A(i,k)·B(k,j) with A(i,k) = A[i·ar + k·ac] and B(k,j) = B[k·br + j·bc]; strides
 * let one kernel serve A·B, A·Bᵀ and Aᵀ·B. The 4×4 register block does 16 multiply-adds per 8
 * loads, which is what lifts plain JavaScript from ~0.3 to over 1 GFLOP/s here.
 */
export function gemm(
  A: Float32Array, ar: number, ac: number,
  B: Float32Array, br: number, bc: number,
  C: Float32Array, M: number, K: number, N: number, accumulate: boolean,
): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  const ar2 = 2 * ar, ar3 = 3 * ar, bc2 = 2 * bc, bc3 = 3 * bc;
  for (let i = 0; i < M4; i += 4) {
    for (let j = 0; j < N4; j += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      let pa = i * ar;
      let pb = j * bc;
      for (let k = 0; k < K; k++) {
        const b0 = B[pb], b1 = B[pb + bc], b2 = B[pb + bc2], b3 = B[pb + bc3];
        let x = A[pa];
        s00 += x * b0; s01 += x * b1; s02 += x * b2; s03 += x * b3;
        x = A[pa + ar];
        s10 += x * b0; s11 += x * b1; s12 += x * b2; s13 += x * b3;
        x = A[pa + ar2];
        s20 += x * b0; s21 += x * b1; s22 += x * b2; s23 += x * b3;
        x = A[pa + ar3];
        s30 += x * b0; s31 += x * b1; s32 += x * b2; s33 += x * b3;
        pa += ac;
        pb += br;
      }
      let c = i * N + j;
      if (accumulate) {
        C[c] += s00; C[c + 1] += s01; C[c + 2] += s02; C[c + 3] += s03; c += N;
        C[c] += s10; C[c + 1] += s11; C[c + 2] += s12; C[c + 3] += s13; c += N;
        C[c] += s20; C[c + 1] += s21; C[c + 2] += s22; C[c + 3] += s23; c += N;
        C[c] += s30; C[c + 1] += s31; C[c + 2] += s32; C[c + 3] += s33;
      } else {
        C[c] = s00; C[c + 1] = s01; C[c + 2] = s02; C[c + 3] = s03; c += N;
        C[c] = s10; C[c + 1] = s11; C[c + 2] = s12; C[c + 3] = s13; c += N;
        C[c] = s20; C[c + 1] = s21; C[c + 2] = s22; C[c + 3] = s23; c += N;
        C[c] = s30; C[c + 1] = s31; C[c + 2] = s32; C[c + 3] = s33;
      }
    }
  }
  // Edges: the rows below M4 (all columns) and the columns right of N4 (rows above M4).
  for (let i = 0; i < M; i++) {
    for (let j = i < M4 ? N4 : 0; j < N; j++) {
      let s = 0;
      let pa = i * ar;
      let pb = j * bc;
      for (let k = 0; k < K; k++) {
        s += A[pa] * B[pb];
        pa += ac;
        pb += br;
      }
      const c = i * N + j;
      C[c] = accumulate ? C[c] + s : s;
    }
  }
}

/** C[M,N] (+)= A[M,K] · B[K,N] */
export function matmul(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number, accumulate = false): void {
  gemm(A, K, 1, B, N, 1, C, M, K, N, accumulate);
}

/** C[M,N] = A[M,K] · B[N,K]ᵀ (row-by-row dot products) */
export function matmulBT(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number): void {
  gemm(A, K, 1, B, 1, K, C, M, K, N, false);
}

/** C[K,N] += A[M,K]ᵀ · B[M,N] (weight gradients: sum over the batch of outer products) */
export function matmulATAcc(A: Float32Array, B: Float32Array, C: Float32Array, M: number, K: number, N: number): void {
  gemm(A, 1, K, B, N, 1, C, K, M, N, true);
}

/** Adam over one dense parameter array. */
export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;

  constructor(
    readonly param: Float32Array,
    readonly grad: Float32Array,
  ) {
    this.m = new Float32Array(param.length);
    this.v = new Float32Array(param.length);
  }

  /**
   * One update with bias-corrected step size `lrT`; clears the gradient. `decay` shrinks the
   * parameters first (decoupled weight decay, AdamW: lr × weight decay).
   */
  step(lrT: number, b1: number, b2: number, eps: number, decay = 0): void {
    const { param: p, grad: g, m, v } = this;
    if (decay > 0) for (let i = 0; i < p.length; i++) p[i] -= decay * p[i];
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      const mi = b1 * m[i] + (1 - b1) * gi;
      const vi = b2 * v[i] + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= (lrT * mi) / (Math.sqrt(vi) + eps);
      g[i] = 0;
    }
  }
}

export const ADAM_B1 = 0.9;
export const ADAM_B2 = 0.999;
export const ADAM_EPS = 1e-8;

/** Adam's bias-corrected learning rate at step t (1-based). */
export function adamLr(lr: number, t: number): number {
  return (lr * Math.sqrt(1 - Math.pow(ADAM_B2, t))) / (1 - Math.pow(ADAM_B1, t));
}
