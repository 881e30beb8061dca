/**
 * A candidate run against a base run (the production model or version) on the same users: per
 * view and metric, the mean difference candidate - base with a paired bootstrap 95% interval.
 * Users evaluated in only one run are left out and counted: a difference is only meaningful on
 * the same users.
 */
import { bootstrapMeans } from './bootstrap.js';
import type { EvalRun } from './evalTypes.js';

export interface MetricDelta {
  view: string;
  /** e.g. 'recall@20' */
  key: string;
  base: number;
  candidate: number;
  delta: number;
  lo: number;
  hi: number;
}

export interface Comparison {
  base: string;
  candidate: string;
  /** Users in both runs, on which every number here is computed. */
  users: number;
  onlyInBase: number;
  onlyInCandidate: number;
  resamples: number;
  seed: number;
  level: number;
  rows: MetricDelta[];
  /** Catalog measures (no per-user values, so no interval): candidate - base. */
  catalog: { view: string; key: string; base: number; candidate: number; delta: number }[];
}

export interface CompareOptions {
  resamples?: number;
  seed?: number;
}

export function compareRuns(candidate: EvalRun, base: EvalRun, o: CompareOptions = {}): Comparison {
  const resamples = o.resamples ?? 1000;
  const seed = o.seed ?? 2020;
  const baseRow = new Map(base.userIds.map((id, i) => [id, i]));
  const pairs: [number, number][] = [];
  candidate.userIds.forEach((id, i) => {
    const j = baseRow.get(id);
    if (j !== undefined) pairs.push([i, j]);
  });
  const rows: MetricDelta[] = [];
  const series: Float64Array[] = [];
  const meta: { view: string; key: string; a: Float64Array; b: Float64Array }[] = [];
  const catalog: Comparison['catalog'] = [];
  for (const mc of candidate.methods) {
    const mb = base.methods.find((m) => m.name === mc.name);
    // Baselines see the same data in both runs: their difference is zero by construction.
    if (!mb || mc.kind !== 'view') continue;
    for (const key of Object.keys(mc.perUser)) {
      const pc = mc.perUser[key];
      const pb = mb.perUser[key];
      if (!pb) continue;
      const a = Float64Array.from(pairs, ([i]) => pc[i]);
      const b = Float64Array.from(pairs, ([, j]) => pb[j]);
      series.push(a.map((x, k) => x - b[k]));
      meta.push({ view: mc.name, key, a, b });
    }
    for (const key of Object.keys(mc.catalog)) {
      if (mb.catalog[key] === undefined) continue;
      catalog.push({ view: mc.name, key, base: mb.catalog[key], candidate: mc.catalog[key], delta: mc.catalog[key] - mb.catalog[key] });
    }
  }
  const intervals = bootstrapMeans(series, resamples, seed);
  meta.forEach((m, s) => {
    rows.push({ view: m.view, key: m.key, base: mean(m.b), candidate: mean(m.a), delta: intervals[s].mean, lo: intervals[s].lo, hi: intervals[s].hi });
  });
  return {
    base: base.source.id,
    candidate: candidate.source.id,
    users: pairs.length,
    onlyInBase: base.userIds.length - pairs.length,
    onlyInCandidate: candidate.userIds.length - pairs.length,
    resamples,
    seed,
    level: 0.95,
    rows,
    catalog,
  };
}

function mean(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return a.length ? s / a.length : 0;
}
