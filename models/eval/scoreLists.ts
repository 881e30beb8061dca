/**
 * Scores one method's top-K lists against the held-out items: every metric at every K for every
 * user, the catalog measures, recall per item-popularity bucket and the score distribution.
 */
import { coverage, exposureAt, gini, noveltyAt } from './catalogMetrics.js';
import type { MethodKind, MethodResult, ScoreHistogram } from './evalTypes.js';
import { METRICS, type MetricName } from './metrics.js';

export interface ScoringContext {
  ks: readonly number[];
  /** Held-out item indices of each evaluated user. */
  relevant: readonly ReadonlySet<number>[];
  nItems: number;
  /** Self-information of each item (catalogMetrics.selfInformation). */
  info: Float64Array;
  /** Item-popularity bucket of each item, and the number of buckets. */
  bucketOf: Int32Array;
  buckets: number;
}

export interface MethodLists {
  name: string;
  kind: MethodKind;
  /** Item indices per user, best first (at least max(ks) long when the catalog allows). */
  lists: readonly Int32Array[];
  /** The score behind each list entry, when the method has one. */
  scores?: readonly Float32Array[];
  scoreLabel?: string;
  extra?: Record<string, number>;
}

const HISTOGRAM_BINS = 30;

export function scoreLists(ctx: ScoringContext, m: MethodLists): MethodResult {
  const n = ctx.relevant.length;
  const names = Object.keys(METRICS) as MetricName[];
  const perUser: Record<string, Float64Array> = {};
  for (const metric of names) for (const k of ctx.ks) perUser[`${metric}@${k}`] = new Float64Array(n);
  for (let u = 0; u < n; u++) {
    const list = m.lists[u];
    const rel = ctx.relevant[u];
    for (const metric of names) for (const k of ctx.ks) perUser[`${metric}@${k}`][u] = METRICS[metric](list, rel, k);
  }
  const means: Record<string, number> = {};
  for (const [key, values] of Object.entries(perUser)) means[key] = mean(values);

  const catalog: Record<string, number> = {};
  const byItemPopularity: Record<string, number[]> = {};
  for (const k of ctx.ks) {
    const exposure = exposureAt(m.lists, k, ctx.nItems);
    catalog[`coverage@${k}`] = coverage(exposure);
    catalog[`gini@${k}`] = gini(exposure);
    catalog[`novelty@${k}`] = noveltyAt(m.lists, k, ctx.info);
    byItemPopularity[`recall@${k}`] = bucketRecall(ctx, m.lists, k);
  }
  const result: MethodResult = { name: m.name, kind: m.kind, means, perUser, catalog, byItemPopularity, extra: { ...(m.extra ?? {}) } };
  if (m.scores) result.scores = histogram(ctx, m, m.scoreLabel ?? 'score');
  return result;
}

/** Held-out items of a bucket found in the top k, over all held-out items of that bucket (pooled over users). */
function bucketRecall(ctx: ScoringContext, lists: readonly Int32Array[], k: number): number[] {
  const found = new Array<number>(ctx.buckets).fill(0);
  const total = new Array<number>(ctx.buckets).fill(0);
  ctx.relevant.forEach((rel, u) => {
    for (const i of rel) total[ctx.bucketOf[i]]++;
    const list = lists[u];
    const upTo = Math.min(k, list.length);
    for (let j = 0; j < upTo; j++) if (list[j] >= 0 && rel.has(list[j])) found[ctx.bucketOf[list[j]]]++;
  });
  // NaN marks a bucket without held-out items: "no data", not "zero recall".
  return found.map((f, b) => (total[b] > 0 ? f / total[b] : NaN));
}

function histogram(ctx: ScoringContext, m: MethodLists, label: string): ScoreHistogram {
  let min = Infinity;
  let max = -Infinity;
  const K = Math.max(...ctx.ks);
  const scores = m.scores!;
  for (let u = 0; u < scores.length; u++) {
    const s = scores[u];
    for (let j = 0; j < Math.min(K, s.length); j++) {
      if (!Number.isFinite(s[j])) continue;
      if (s[j] < min) min = s[j];
      if (s[j] > max) max = s[j];
    }
  }
  if (!(max >= min)) return { label, min: 0, max: 0, hit: [], miss: [] };
  const hit = new Array<number>(HISTOGRAM_BINS).fill(0);
  const miss = new Array<number>(HISTOGRAM_BINS).fill(0);
  const width = (max - min) / HISTOGRAM_BINS || 1;
  for (let u = 0; u < scores.length; u++) {
    const s = scores[u];
    const list = m.lists[u];
    for (let j = 0; j < Math.min(K, s.length); j++) {
      if (!Number.isFinite(s[j])) continue;
      const b = Math.min(HISTOGRAM_BINS - 1, Math.floor((s[j] - min) / width));
      (ctx.relevant[u].has(list[j]) ? hit : miss)[b]++;
    }
  }
  return { label, min, max, hit, miss };
}

function mean(a: Float64Array): number {
  let s = 0;
  for (const x of a) s += x;
  return a.length ? s / a.length : 0;
}
