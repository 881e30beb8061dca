/**
 * Validation of the towers during training: Recall@K of the held-out targets (d.heldOut) over all
 * unseen items, for early stopping, and the popularity baseline for the same users.
 */
import type { Random } from '../../shared/data/random.js';
import type { PreparedData } from './dataset.js';
import { retrieveTopK, topK as topKRow } from './retrieve.js';
import type { OnnxScorer } from './onnxScorer.js';
import { batchBuffers, fillItemRows, fillUserRowsAt } from './towerInputs.js';
import { embedAllItemsOf, embedUsersAtOf, ensembleDim, type TowerPair } from './towerEnsemble.js';
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

/**
 * Mean over validation users of the share of their held-out items found in their top-k unseen
 * items, for each k of ks. The heads run in onnxruntime (every epoch scores all items for every
 * validation user); items are pooled once, users in blocks so that the score block stays a few
 * tens of MB on any catalog.
 */
export async function evaluateRecallOnnx(d: PreparedData, itemNet: TowerNet, userNet: TowerNet, val: ValidationSet, ks: readonly number[], scorer: OnnxScorer): Promise<number[]> {
  if (val.rows.length === 0) return ks.map(() => 0);
  const K = Math.max(...ks);
  itemNet.fillUntrainedRows();
  userNet.fillUntrainedRows();
  const h = d.heldOut;
  const N = d.nItems;
  const itemBufs = batchBuffers(itemNet, N);
  fillItemRows(d, itemNet, Int32Array.from({ length: N }, (_, i) => i), N, itemBufs, 0, null);
  const xi = itemNet.pool(itemBufs, N).slice();
  const block = Math.max(1, Math.min(1024, Math.floor(8_388_608 / Math.max(1, N))));
  const userBufs = batchBuffers(userNet, block);
  const items = new Int32Array(val.rows.length * K).fill(-1);
  const top = new Float32Array(K);
  const mark = new Int32Array(N).fill(-1);
  for (let r0 = 0; r0 < val.rows.length; r0 += block) {
    const B = Math.min(block, val.rows.length - r0);
    const rows = val.rows.subarray(r0, r0 + B);
    fillUserRowsAt(d, userNet, rows.map((r) => h.users[r]), rows.map((r) => h.histEnd[r]), B, userBufs);
    const xu = userNet.pool(userBufs, B);
    const S = await scorer.scores(xi, N, xu, B, itemNet, userNet);
    for (let j = 0; j < B; j++) {
      const i = r0 + j;
      markSeen(d, val.rows[i], mark, i);
      top.fill(-Infinity);
      topKRow(S.subarray(j * N, (j + 1) * N), mark, i, K, items.subarray(i * K, (i + 1) * K), top);
    }
  }
  return ks.map((k) => meanRecall(items, K, val, d, k));
}

/**
 * evaluateRecallOnnx for a seed ensemble (towerEnsemble.ts): the members' embeddings side by side,
 * scored by exact retrieval in the trainer's own code. Run once per training, not per epoch.
 */
export function evaluateRecallEnsemble(d: PreparedData, members: readonly TowerPair[], val: ValidationSet, ks: readonly number[]): number[] {
  if (val.rows.length === 0) return ks.map(() => 0);
  const K = Math.max(...ks);
  const itemNets = members.map((m) => m.itemNet);
  const h = d.heldOut;
  const itemEmb = embedAllItemsOf(d, itemNets);
  const userEmb = embedUsersAtOf(
    d,
    members.map((m) => m.userNet),
    val.rows.map((r) => h.users[r]),
    val.rows.map((r) => h.histEnd[r]),
  );
  const got = retrieveTopK(userEmb, val.rows.length, itemEmb, d.nItems, ensembleDim(itemNets), K, (i, mark, stamp) => markSeen(d, val.rows[i], mark, stamp));
  return ks.map((k) => meanRecall(got.items, K, val, d, k));
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

/** Mean recall of the first k (default all K) entries of each user's K-long row of `items`. */
function meanRecall(items: Int32Array, K: number, val: ValidationSet, d: PreparedData, k = K): number {
  const h = d.heldOut;
  let sum = 0;
  val.rows.forEach((r, i) => {
    const a = h.start[r];
    const b = h.start[r + 1];
    let hits = 0;
    for (let j = 0; j < k; j++) {
      const item = items[i * K + j];
      for (let t = a; t < b; t++) if (h.items[t] === item) hits++;
    }
    sum += hits / (b - a);
  });
  return sum / val.rows.length;
}
