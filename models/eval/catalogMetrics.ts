/**
 * Beyond-accuracy measures of a set of top-K lists (one per user), over the whole catalog:
 *   coverage  share of catalog items that appear in at least one list
 *   gini      Gini index of exposure (how often each catalog item is shown, unseen items count as 0):
 *             0 = every item shown equally often, near 1 = a few items shown to everyone
 *   novelty   mean self-information -log2 p(i) of the listed items, p(i) = (n_i + 1) / (users + 1)
 *             with n_i the item's training interactions: higher = less popular items
 */
export function coverage(exposure: Float64Array): number {
  if (exposure.length === 0) return 0;
  let n = 0;
  for (const x of exposure) if (x > 0) n++;
  return n / exposure.length;
}

export function gini(exposure: Float64Array): number {
  const n = exposure.length;
  const sorted = Float64Array.from(exposure).sort();
  let total = 0;
  let weighted = 0;
  for (let i = 0; i < n; i++) {
    total += sorted[i];
    weighted += (2 * (i + 1) - n - 1) * sorted[i];
  }
  return total > 0 ? weighted / (n * total) : 0;
}

/** Self-information of each item from its training interactions. */
export function selfInformation(popularity: ArrayLike<number>, trainUsers: number): Float64Array {
  const out = new Float64Array(popularity.length);
  for (let i = 0; i < popularity.length; i++) out[i] = -Math.log2(Math.min(1, (popularity[i] + 1) / (trainUsers + 1)));
  return out;
}

/** Per-item exposure counts of the first k entries of every list. */
export function exposureAt(lists: readonly ArrayLike<number>[], k: number, nItems: number): Float64Array {
  const x = new Float64Array(nItems);
  for (const list of lists) {
    const n = Math.min(k, list.length);
    for (let j = 0; j < n; j++) if (list[j] >= 0) x[list[j]]++;
  }
  return x;
}

/** Mean over non-empty lists of the mean self-information of their first k entries. */
export function noveltyAt(lists: readonly ArrayLike<number>[], k: number, info: Float64Array): number {
  let sum = 0;
  let users = 0;
  for (const list of lists) {
    const n = Math.min(k, list.length);
    let s = 0;
    let m = 0;
    for (let j = 0; j < n; j++) {
      if (list[j] < 0) continue;
      s += info[list[j]];
      m++;
    }
    if (m === 0) continue;
    sum += s / m;
    users++;
  }
  return users ? sum / users : 0;
}
