/** The validation gate: each check has a value and a threshold, and all must pass to publish. */
import type { CheckResult } from '../shared/store/types.js';

export function check(name: string, value: number, op: CheckResult['op'], threshold: number, detail?: string): CheckResult {
  const passed = op === '>=' ? value >= threshold : op === '<=' ? value <= threshold : value === threshold;
  return { name, value: round(value), op, threshold, passed, ...(detail ? { detail } : {}) };
}

/** Rows that are not usable embeddings: any NaN/Inf, or a norm too small to mean anything. */
export function countBadVectors(m: Float32Array, rows: number, dim: number): number {
  let bad = 0;
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    let finite = true;
    for (let d = 0; d < dim; d++) {
      const v = m[r * dim + d];
      if (!Number.isFinite(v)) finite = false;
      norm += v * v;
    }
    if (!finite || norm < 1e-12) bad++;
  }
  return bad;
}

/**
 * The share of distinct rows among up to `sample` evenly spaced rows. A tower that collapsed
 * (the same vector whatever the input) scores 1/sample here and would still pass the NaN and
 * norm checks; a catalog of distinct items scores near 1.
 */
export function distinctShare(m: Float32Array, rows: number, dim: number, sample = 10_000): number {
  const n = Math.min(rows, sample);
  if (n === 0) return 1;
  const seen = new Set<string>();
  const bytes = new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
  for (let s = 0; s < n; s++) {
    const r = Math.floor((s * rows) / n);
    seen.add(Buffer.from(bytes.subarray(r * dim * 4, (r + 1) * dim * 4)).toString('latin1'));
  }
  return seen.size / n;
}

/** |A ∩ B| / |A| for two top-K lists: the recall of an approximate list against the exact one. */
export function overlapRecall(exact: ArrayLike<number>, approx: ArrayLike<number>): number {
  if (exact.length === 0) return 1;
  const set = new Set<number>();
  for (let i = 0; i < approx.length; i++) set.add(approx[i]);
  let hits = 0;
  for (let i = 0; i < exact.length; i++) if (set.has(exact[i])) hits++;
  return hits / exact.length;
}

/** `n` evenly spaced indices in [0, rows): deterministic, and spread over the whole table. */
export function evenSample(rows: number, n: number): Int32Array {
  const m = Math.min(rows, n);
  const out = new Int32Array(m);
  for (let s = 0; s < m; s++) out[s] = Math.floor((s * rows) / m);
  return out;
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
