/**
 * Every user's history as one compressed-sparse-row structure: the items of user u, oldest first,
 * are items[offsets[u] .. offsets[u+1]). Two typed arrays for all users instead of a Map of arrays.
 */
import type { InteractionColumns } from './interactionColumns.js';

export interface Histories {
  users: number;
  /** users + 1 offsets into items. */
  offsets: Int32Array;
  items: Int32Array;
}

/** A counting sort by user (stable, so file order is kept), then each user's slice by time. */
export function buildHistories(cols: InteractionColumns, users: number): Histories {
  const offsets = new Int32Array(users + 1);
  for (let r = 0; r < cols.rows; r++) offsets[cols.user[r] + 1]++;
  for (let u = 0; u < users; u++) offsets[u + 1] += offsets[u];
  const fill = offsets.slice(0, users);
  const items = new Int32Array(cols.rows);
  const times = new Float64Array(cols.rows);
  for (let r = 0; r < cols.rows; r++) {
    const at = fill[cols.user[r]]++;
    items[at] = cols.item[r];
    times[at] = cols.time[r];
  }
  for (let u = 0; u < users; u++) sortSliceByTime(items, times, offsets[u], offsets[u + 1]);
  return { users, offsets, items };
}

/** The items of user u, oldest first (a view, not a copy). */
export function historyOf(h: Histories, u: number): Int32Array {
  return h.items.subarray(h.offsets[u], h.offsets[u + 1]);
}

/**
 * Logs are usually written in time order per user, so the common case is one check; otherwise a
 * stable insertion sort, which is fast on the nearly-sorted slices real logs have.
 */
function sortSliceByTime(items: Int32Array, times: Float64Array, from: number, to: number): void {
  let sorted = true;
  for (let i = from + 1; i < to; i++) {
    if (times[i] < times[i - 1]) {
      sorted = false;
      break;
    }
  }
  if (sorted) return;
  if (to - from > 64) {
    const idx = Array.from({ length: to - from }, (_, k) => from + k);
    idx.sort((a, b) => times[a] - times[b] || a - b);
    const it = idx.map((i) => items[i]);
    const tm = idx.map((i) => times[i]);
    for (let k = 0; k < idx.length; k++) {
      items[from + k] = it[k];
      times[from + k] = tm[k];
    }
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const t = times[i];
    const v = items[i];
    let j = i - 1;
    while (j >= from && times[j] > t) {
      times[j + 1] = times[j];
      items[j + 1] = items[j];
      j--;
    }
    times[j + 1] = t;
    items[j + 1] = v;
  }
}
