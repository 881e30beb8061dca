/**
 * Ranking metrics over one user's ranked list and set of relevant (held-out) items, binary
 * relevance, cut at k. Pure functions; the aggregate helper averages over users.
 *
 * A relevant item repeated in the ranked list counts once (at its first position), so a list
 * with duplicates cannot score above a clean one. A list shorter than k is scored as if padded
 * with irrelevant items (precision still divides by k).
 */
export type ItemKey = number | string;

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
}

/** 0-based positions within the top k at which a not-yet-seen relevant item appears. */
function hitPositions<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number): number[] {
  checkK(k);
  const hits: number[] = [];
  const n = Math.min(k, ranked.length);
  let seen: Set<T> | null = null;
  for (let i = 0; i < n; i++) {
    const x = ranked[i];
    if (!relevant.has(x)) continue;
    seen ??= new Set<T>();
    if (seen.has(x)) continue;
    seen.add(x);
    hits.push(i);
  }
  return hits;
}

/** Relevant items found in the top k, over all relevant items (0 when there are none). */
export function recallAtK<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number): number {
  const hits = hitPositions(ranked, relevant, k);
  return relevant.size ? hits.length / relevant.size : 0;
}

/** Relevant items in the top k, over k. */
export function precisionAtK<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number): number {
  return hitPositions(ranked, relevant, k).length / k;
}

/** 1 if any relevant item is in the top k. */
export function hitRateAtK<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number): number {
  return hitPositions(ranked, relevant, k).length > 0 ? 1 : 0;
}

/** Reciprocal rank of the first relevant item within the top k, else 0. */
export function mrrAtK<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number): number {
  const hits = hitPositions(ranked, relevant, k);
  return hits.length ? 1 / (hits[0] + 1) : 0;
}

/**
 * Binary NDCG: DCG = Σ 1/log2(rank+1) over hits; the ideal puts min(|relevant|, k) hits first,
 * so a user with fewer than k relevant items can still reach 1.
 */
export function ndcgAtK<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number): number {
  const hits = hitPositions(ranked, relevant, k);
  const idealHits = Math.min(relevant.size, k);
  if (idealHits === 0) return 0;
  let dcg = 0;
  for (const i of hits) dcg += 1 / Math.log2(i + 2);
  let idcg = 0;
  for (let i = 0; i < idealHits; i++) idcg += 1 / Math.log2(i + 2);
  return dcg / idcg;
}

/** AP@k: mean of precision@rank over hits, normalised by min(|relevant|, k). */
export function averagePrecisionAtK<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number): number {
  const hits = hitPositions(ranked, relevant, k);
  const denom = Math.min(relevant.size, k);
  if (denom === 0) return 0;
  let sum = 0;
  hits.forEach((pos, h) => (sum += (h + 1) / (pos + 1)));
  return sum / denom;
}

export type MetricFn = <T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>, k: number) => number;

export const METRICS = {
  recall: recallAtK,
  precision: precisionAtK,
  hitrate: hitRateAtK,
  mrr: mrrAtK,
  ndcg: ndcgAtK,
  map: averagePrecisionAtK,
} as const satisfies Record<string, MetricFn>;

export type MetricName = keyof typeof METRICS;

export interface RankingCase<T extends ItemKey = ItemKey> {
  ranked: ArrayLike<T>;
  relevant: ReadonlySet<T>;
}

export interface AggregateResult {
  /** Users averaged over (those with at least one relevant item). */
  count: number;
  /** Users skipped because their relevant set was empty: nothing to find, no score. */
  skipped: number;
  /** Mean per `${metric}@${k}`, e.g. 'recall@10'; 0 when count is 0. */
  means: Record<string, number>;
}

/** Streaming mean of several metrics at several cut-offs over users. */
export class MetricAccumulator {
  private readonly sums = new Map<string, number>();
  private count = 0;
  private skipped = 0;

  constructor(
    readonly ks: readonly number[],
    readonly metrics: readonly MetricName[] = Object.keys(METRICS) as MetricName[],
  ) {
    ks.forEach(checkK);
    for (const m of metrics) for (const k of ks) this.sums.set(`${m}@${k}`, 0);
  }

  add<T extends ItemKey>(ranked: ArrayLike<T>, relevant: ReadonlySet<T>): void {
    if (relevant.size === 0) {
      this.skipped++;
      return;
    }
    this.count++;
    for (const m of this.metrics) {
      for (const k of this.ks) {
        const key = `${m}@${k}`;
        this.sums.set(key, (this.sums.get(key) ?? 0) + METRICS[m](ranked, relevant, k));
      }
    }
  }

  result(): AggregateResult {
    const means: Record<string, number> = {};
    for (const [key, s] of this.sums) means[key] = this.count ? s / this.count : 0;
    return { count: this.count, skipped: this.skipped, means };
  }
}

/** Averages metrics over users, skipping users with no relevant items. */
export function aggregateMetrics<T extends ItemKey>(
  cases: Iterable<RankingCase<T>>,
  ks: readonly number[],
  metrics?: readonly MetricName[],
): AggregateResult {
  const acc = new MetricAccumulator(ks, metrics);
  for (const c of cases) acc.add(c.ranked, c.relevant);
  return acc.result();
}
