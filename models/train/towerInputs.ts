/**
 * Filling tower input buffers from PreparedData, and embedding items and users with the trainer's
 * own forward pass (validation, ranker lists, parity tests).
 */
import type { Random } from '../../shared/data/random.js';
import type { PreparedData } from './dataset.js';
import type { SlotData, TowerNet } from './towerNet.js';

export function batchBuffers(net: TowerNet, B: number): SlotData[] {
  return net.slots.map((s) => (s.kind === 'numeric' ? new Float32Array(B * s.len) : new Int32Array(B * s.len)));
}

/** Copies the encoded inputs of items into the batch buffers (row r = item items[r]). */
export function fillItemRows(d: PreparedData, net: TowerNet, items: Int32Array, B: number, bufs: SlotData[], idDropout: number, rng: Random | null): void {
  net.slots.forEach((s, k) => copyRows(d.itemInputs[k], s.len, items, B, bufs[k]));
  // The id input is always the first one (dataset.ts builds the specs).
  if (rng && idDropout > 0) dropIds(bufs[0] as Int32Array, B, idDropout, rng);
}

/** Copies the non-history inputs of users[r] into row r of the batch buffers. */
export function fillUserFeatures(d: PreparedData, net: TowerNet, users: Int32Array, B: number, bufs: SlotData[]): void {
  net.slots.forEach((s, k) => {
    if (k !== d.historySlot) copyRows(d.userInputs[k], s.len, users, B, bufs[k]);
  });
}

/**
 * User tower inputs for users[r] with the history of positions before ends[r] (at most maxHistory,
 * most recent last, left-aligned: the layout models/features.ts gives onnxruntime).
 */
export function fillUserRowsAt(d: PreparedData, net: TowerNet, users: Int32Array, ends: Int32Array, B: number, bufs: SlotData[]): void {
  fillUserFeatures(d, net, users, B, bufs);
  const H = d.maxHistory;
  const hist = bufs[d.historySlot] as Int32Array;
  hist.fill(0, 0, B * H);
  for (let r = 0; r < B; r++) {
    const end = ends[r];
    const begin = Math.max(d.userStart[users[r]], end - H);
    for (let p = begin; p < end; p++) hist[r * H + (p - begin)] = d.seqItem[p] + 1;
  }
}

function copyRows(src: SlotData, len: number, rows: Int32Array, B: number, dst: SlotData): void {
  for (let r = 0; r < B; r++) {
    const s = rows[r] * len;
    for (let l = 0; l < len; l++) dst[r * len + l] = src[s + l];
  }
}

export function dropIds(ids: Int32Array, B: number, p: number, rng: Random): void {
  for (let r = 0; r < B; r++) if (rng.uniform() < p) ids[r] = 0;
}

export function shuffleInt32(a: Int32Array, rng: Random, n = a.length): void {
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** The end of user u's training positions: its held-out last interaction, if any, is not training data. */
export function trainEnd(d: PreparedData, u: number): number {
  return d.valPos[u] >= 0 ? d.valPos[u] : d.userStart[u + 1];
}

/** Embeds every catalog item with the trainer's forward pass (rows × dim). */
export function embedAllItems(d: PreparedData, net: TowerNet): Float32Array {
  const out = new Float32Array(d.nItems * net.D);
  const chunk = 1024;
  const bufs = batchBuffers(net, chunk);
  const rows = new Int32Array(chunk);
  for (let i0 = 0; i0 < d.nItems; i0 += chunk) {
    const b = Math.min(chunk, d.nItems - i0);
    for (let r = 0; r < b; r++) rows[r] = i0 + r;
    fillItemRows(d, net, rows, b, bufs, 0, null);
    out.set(net.forward(bufs, b), i0 * net.D);
  }
  return out;
}

/** Embeds users[r] with the history before position ends[r]. */
export function embedUsersAt(d: PreparedData, net: TowerNet, users: Int32Array, ends: Int32Array): Float32Array {
  const n = users.length;
  const out = new Float32Array(n * net.D);
  const chunk = 1024;
  const bufs = batchBuffers(net, chunk);
  for (let i0 = 0; i0 < n; i0 += chunk) {
    const b = Math.min(chunk, n - i0);
    fillUserRowsAt(d, net, users.subarray(i0, i0 + b), ends.subarray(i0, i0 + b), b, bufs);
    out.set(net.forward(bufs, b), i0 * net.D);
  }
  return out;
}
