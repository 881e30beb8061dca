/**
 * Drops candidates the user must not see again. Done after retrieval rather than inside hnswlib
 * (a JS filter callback per visited node is slow); the candidates stage over-fetches instead.
 */
import type { CandidateList, SyncStage } from './types.js';

export interface FilterInput {
  candidates: CandidateList;
  drop: ReadonlySet<number>;
}

export const filterStage: SyncStage<FilterInput, CandidateList> = {
  name: 'filter',
  run: ({ candidates, drop }) => filterCandidates(candidates, drop),
};

/**
 * Keeps the candidates not in `drop`, in their order. Never mutates its input; returns the input
 * itself when nothing in it is dropped (the common case: a session rarely repeats a candidate),
 * so that case allocates nothing.
 */
export function filterCandidates(list: CandidateList, drop: ReadonlySet<number>): CandidateList {
  const n = list.items.length;
  if (drop.size === 0) return list;
  let first = 0;
  while (first < n && !drop.has(list.items[first])) first++;
  if (first === n) return list;
  const items = new Int32Array(n);
  const scores = new Float32Array(n);
  items.set(list.items.subarray(0, first));
  scores.set(list.scores.subarray(0, first));
  let m = first;
  for (let i = first + 1; i < n; i++) {
    const item = list.items[i];
    if (drop.has(item)) continue;
    items[m] = item;
    scores[m] = list.scores[i];
    m++;
  }
  return { items: items.subarray(0, m), scores: scores.subarray(0, m) };
}
