/**
 * Drops candidates the user must not see again. Done after retrieval rather than inside hnswlib
 * (a JS filter callback per visited node is slow); the candidates stage over-fetches instead.
 */
import type { CandidateList, Stage } from './types.js';

export interface FilterInput {
  candidates: CandidateList;
  drop: ReadonlySet<number>;
}

export const filterStage: Stage<FilterInput, CandidateList> = {
  name: 'filter',
  run: ({ candidates, drop }) => filterCandidates(candidates, drop),
};

/** Keeps the candidates not in `drop`, in their order. Never mutates its input. */
export function filterCandidates(list: CandidateList, drop: ReadonlySet<number>): CandidateList {
  const n = list.items.length;
  if (drop.size === 0) return list;
  const items = new Int32Array(n);
  const scores = new Float32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const item = list.items[i];
    if (drop.has(item)) continue;
    items[m] = item;
    scores[m] = list.scores[i];
    m++;
  }
  return { items: items.subarray(0, m), scores: scores.subarray(0, m) };
}
