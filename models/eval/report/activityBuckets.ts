/** User-activity buckets: quartiles of the number of history items, so each holds about a quarter of the users. */
export interface ActivityBuckets {
  labels: string[];
  /** Bucket of each user. */
  of: Int32Array;
  users: number[];
}

export function activityBuckets(activity: Int32Array, count = 4): ActivityBuckets {
  const sorted = Int32Array.from(activity).sort();
  const n = sorted.length;
  // Upper bounds at the quantiles; equal bounds merge (many users with the same activity).
  const bounds = [...new Set(Array.from({ length: count }, (_, b) => (n ? sorted[Math.min(n - 1, Math.ceil(((b + 1) * n) / count) - 1)] : 0)))];
  const of = Int32Array.from(activity, (a) => {
    const b = bounds.findIndex((ub) => a <= ub);
    return b < 0 ? bounds.length - 1 : b;
  });
  const users = bounds.map((_, b) => of.reduce((s, x) => s + (x === b ? 1 : 0), 0));
  const labels = bounds.map((ub, b) => {
    const lo = b === 0 ? (n ? sorted[0] : 0) : bounds[b - 1] + 1;
    return `${lo === ub ? `${ub}` : `${lo}-${ub}`} items (${users[b]} users)`;
  });
  return { labels, of, users };
}

/** Mean of values per bucket (NaN for an empty bucket). */
export function bucketMeans(values: Float64Array, b: ActivityBuckets): number[] {
  const sum = new Array<number>(b.labels.length).fill(0);
  const cnt = new Array<number>(b.labels.length).fill(0);
  values.forEach((v, i) => {
    sum[b.of[i]] += v;
    cnt[b.of[i]]++;
  });
  return sum.map((s, i) => (cnt[i] ? s / cnt[i] : NaN));
}
