/**
 * Paired bootstrap: resample users with replacement, keeping each user's pair of values together,
 * so the interval of a difference reflects how much it depends on which users happened to be in
 * the test set. One set of resampled users serves every metric (they stay comparable), and the
 * generator is seeded, so a run is reproducible.
 */
import { Random } from '../../shared/data/random.js';

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

/** Percentile intervals (at `level`) of the mean of each series, all resampled with the same users. */
export function bootstrapMeans(series: readonly Float64Array[], resamples: number, seed: number, level = 0.95): Interval[] {
  const n = series.length ? series[0].length : 0;
  for (const s of series) if (s.length !== n) throw new RangeError('bootstrap: every series needs one value per user');
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  const means = series.map(mean);
  if (n === 0) return means.map(() => ({ mean: 0, lo: 0, hi: 0 }));
  const rng = new Random(seed);
  const draws = series.map(() => new Float64Array(resamples));
  const idx = new Int32Array(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    for (let s = 0; s < series.length; s++) {
      const x = series[s];
      let sum = 0;
      for (let i = 0; i < n; i++) sum += x[idx[i]];
      draws[s][b] = sum / n;
    }
  }
  const alpha = (1 - level) / 2;
  return draws.map((d, s) => {
    d.sort();
    return { mean: means[s], lo: quantile(d, alpha), hi: quantile(d, 1 - alpha) };
  });
}

/** Linear interpolation between order statistics of a sorted array. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function mean(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return a.length ? s / a.length : 0;
}
