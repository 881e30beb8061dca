/**
 * The session similarities in plain JavaScript: dots[j * n + i] is candidate i's dot product with
 * session item j, summed in double precision in the order d = 0, 1, … . computeRankFeatures uses
 * it where the embeddings are not in a WebAssembly memory (training, evaluation, a version too big
 * for one); the SIMD kernel gives the same values bit for bit.
 *
 * The n × s dot products are computed several session items at a time: one pass over the
 * candidates per group of up to six session items, whose sums are independent chains the CPU
 * overlaps, where one dot product after another would wait on each addition in turn.
 */

/** A cache line holds 16 float32 values. */
const LINE_FLOATS = 16;
/** The widest group of session items one pass over the candidates takes. */
const LANES = 6;

let touched = 0;

/** The returned array is scratch space, valid until the next call; entries past s * n are not results. */
export function sessionDotsJs(E: Float32Array, dim: number, candidates: Int32Array, sessionItems: Int32Array): Float64Array {
  const n = candidates.length;
  const s = sessionItems.length;
  // The candidates' rows lie scattered over the embedding table, and waiting for each in turn
  // (when the similarity loop first reads it) costs more than the arithmetic. One light pass that
  // touches every cache line of every row first lets the CPU fetch many rows at once.
  touchRows(E, dim, candidates, n);

  // The session's vectors side by side (float32 to double is exact), padded with rows of zeros
  // to a whole group (a padded lane's sums are computed and never read).
  const padded = s + ((LANES - (s % LANES)) % LANES);
  const S = scratchSession(padded * dim);
  S.fill(0, s * dim, padded * dim);
  for (let j = 0; j < s; j++) {
    const sb = sessionItems[j] * dim;
    for (let d = 0; d < dim; d++) S[j * dim + d] = E[sb + d];
  }

  const dots = scratchDots(padded * n);
  for (let j = 0; j < s; ) {
    const left = s - j;
    if (left === 1) sessionDots1(E, dim, candidates, n, S, j, dots);
    else if (left === 2) sessionDots2(E, dim, candidates, n, S, j, dots);
    else if (left <= 4) sessionDots4(E, dim, candidates, n, S, j, dots);
    else sessionDots6(E, dim, candidates, n, S, j, dots);
    j += left === 1 ? 1 : left === 2 ? 2 : left <= 4 ? 4 : 6;
  }
  return dots;
}

/** Reads one value per cache line of each candidate's row. */
function touchRows(E: Float32Array, dim: number, cand: Int32Array, n: number): void {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    for (let d = 0; d < dim; d += LINE_FLOATS) sum += E[base + d];
    sum += E[base + dim - 1];
  }
  // Kept, so that the reads are not optimised away.
  touched = sum;
}

// The kernels: session rows j0.. of S (dim apart) against every candidate's row of E, one sum per
// pair into dots[j * n + i], each sum in the order d = 0, 1, … . Written out per width so that
// the sums live in registers.
function sessionDots1(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    for (let d = 0; d < dim; d++) a0 += E[base + d] * S[s0 + d];
    dots[j0 * n + i] = a0;
  }
}

function sessionDots2(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  const s1 = s0 + dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    let a1 = 0;
    for (let d = 0; d < dim; d++) {
      const e = E[base + d];
      a0 += e * S[s0 + d];
      a1 += e * S[s1 + d];
    }
    dots[j0 * n + i] = a0;
    dots[(j0 + 1) * n + i] = a1;
  }
}

function sessionDots4(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  const s1 = s0 + dim;
  const s2 = s1 + dim;
  const s3 = s2 + dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let d = 0; d < dim; d++) {
      const e = E[base + d];
      a0 += e * S[s0 + d];
      a1 += e * S[s1 + d];
      a2 += e * S[s2 + d];
      a3 += e * S[s3 + d];
    }
    dots[j0 * n + i] = a0;
    dots[(j0 + 1) * n + i] = a1;
    dots[(j0 + 2) * n + i] = a2;
    dots[(j0 + 3) * n + i] = a3;
  }
}

function sessionDots6(E: Float32Array, dim: number, cand: Int32Array, n: number, S: Float64Array, j0: number, dots: Float64Array): void {
  const s0 = j0 * dim;
  const s1 = s0 + dim;
  const s2 = s1 + dim;
  const s3 = s2 + dim;
  const s4 = s3 + dim;
  const s5 = s4 + dim;
  for (let i = 0; i < n; i++) {
    const base = cand[i] * dim;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    for (let d = 0; d < dim; d++) {
      const e = E[base + d];
      a0 += e * S[s0 + d];
      a1 += e * S[s1 + d];
      a2 += e * S[s2 + d];
      a3 += e * S[s3 + d];
      a4 += e * S[s4 + d];
      a5 += e * S[s5 + d];
    }
    dots[j0 * n + i] = a0;
    dots[(j0 + 1) * n + i] = a1;
    dots[(j0 + 2) * n + i] = a2;
    dots[(j0 + 3) * n + i] = a3;
    dots[(j0 + 4) * n + i] = a4;
    dots[(j0 + 5) * n + i] = a5;
  }
}

// Scratch space reused across calls (the function is synchronous, so no two calls share it).
let sessionBuf = new Float64Array(512);
let dotBuf = new Float64Array(2048);

function scratchSession(size: number): Float64Array {
  if (sessionBuf.length < size) sessionBuf = new Float64Array(size);
  return sessionBuf;
}

function scratchDots(size: number): Float64Array {
  if (dotBuf.length < size) dotBuf = new Float64Array(size);
  return dotBuf;
}

