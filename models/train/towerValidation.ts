/**
 * Validation of the towers during training: Recall@K of the held-out targets (d.heldOut) over all
 * unseen items, for early stopping, and the popularity baseline for the same users.
 */
import type { Random } from '../../shared/data/random.js';
import type { PreparedData } from './dataset.js';
import { retrieveTopK, topK as topKRow } from './retrieve.js';
import { embedAllItems, embedUsersAt } from './towerInputs.js';
import type { TowerNet } from './towerNet.js';

export interface ValidationSet {
  /** Rows of d.heldOut that are scored. */
  rows: Int32Array;
}

export function validationSet(d: PreparedData, max: number, rng: Random): ValidationSet {
  const rows = Array.from({ length: d.heldOut.users.length }, (_, r) => r);
  // A fixed random sample keeps validation cheap on large worlds and comparable across epochs.
  if (rows.length > max) rng.shuffle(rows).length = max;
  rows.sort((a, b) => a - b);
  return { rows: Int32Array.from(rows) };
}

/** Mean over validation users of the share of their held-out items found in their top-K unseen items. */
export function evaluateRecall(d: PreparedData, itemNet: TowerNet, userNet: TowerNet, val: ValidationSet, K: number): number {
  if (val.rows.length === 0) return 0;
  itemNet.fillUntrainedRows();
  userNet.fillUntrainedRows();
  const h = d.heldOut;
  const itemEmb = embedAllItems(d, itemNet);
  const users = val.rows.map((r) => h.users[r]);
  const ends = val.rows.map((r) => h.histEnd[r]);
  const userEmb = embedUsersAt(d, userNet, users, ends);
  const got = retrieveTopK(userEmb, val.rows.length, itemEmb, d.nItems, itemNet.D, K, (i, mark, stamp) => markSeen(d, val.rows[i], mark, stamp));
  return meanRecall(got.items, K, val, d);
}

/** Marks the items held-out row r has seen (its history and everything up to its targets). */
export function markSeen(d: PreparedData, r: number, mark: Int32Array, stamp: number): void {
  const u = d.heldOut.users[r];
  for (let p = d.userStart[u]; p < d.heldOut.seenEnd[r]; p++) mark[d.seqItem[p]] = stamp;
}

/** The baseline: the K most popular training items the user has not seen. */
export function popularityRecall(d: PreparedData, val: ValidationSet, K: number): number {
  if (val.rows.length === 0) return 0;
  const n = d.nItems;
  const one = new Float32Array(n);
  for (let i = 0; i < n; i++) one[i] = d.itemCount[i];
  const items = new Int32Array(val.rows.length * K).fill(-1);
  const scores = new Float32Array(K);
  const mark = new Int32Array(n).fill(-1);
  // Scoring by popularity alone is one shared row; only the exclusions differ per user.
  val.rows.forEach((r, i) => {
    markSeen(d, r, mark, i);
    scores.fill(-Infinity);
    topKRow(one, mark, i, K, items.subarray(i * K, (i + 1) * K), scores);
  });
  return meanRecall(items, K, val, d);
}

function meanRecall(items: Int32Array, K: number, val: ValidationSet, d: PreparedData): number {
  const h = d.heldOut;
  let sum = 0;
  val.rows.forEach((r, i) => {
    const a = h.start[r];
    const b = h.start[r + 1];
    let hits = 0;
    for (let k = 0; k < K; k++) {
      const item = items[i * K + k];
      for (let t = a; t < b; t++) if (h.items[t] === item) hits++;
    }
    sum += hits / (b - a);
  });
  return sum / val.rows.length;
}
