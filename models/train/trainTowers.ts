/**
 * The two-tower training loop: mini-batches of (user, item) pairs, the user's history for a pair
 * being what the user did strictly before it; in-batch sampled softmax with logQ correction; Adam;
 * early stopping on Recall@10 of the held-out last interaction per user.
 */
import { Random } from '../../shared/data/random.js';
import { adamLr } from './dense.js';
import type { PreparedData } from './dataset.js';
import { InBatchLoss } from './loss.js';
import { retrieveTopK, topK as topKRow } from './retrieve.js';
import { TowerNet, slotsOf, type SlotData } from './towerNet.js';

export interface TowerTrainOptions {
  dim: number;
  width: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  lr: number;
  temperature: number;
  seed: number;
  /** Epochs without a better validation recall before stopping. */
  patience: number;
  /** Probability of hiding the user id in a training pair, so the unknown-user slot learns cold start. */
  userIdDropout: number;
  /** Same for the item id: cold items then fall back to a trained unknown-item row plus features. */
  itemIdDropout: number;
  /** At most this many users are scored for validation each epoch. */
  maxValidationUsers: number;
  log: (line: string) => void;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  recallAt10: number;
  ms: number;
}

export interface TowerTrainResult {
  itemNet: TowerNet;
  userNet: TowerNet;
  epochs: EpochStats[];
  bestEpoch: number;
  validation: Record<string, number>;
}

export function trainTowers(d: PreparedData, o: TowerTrainOptions): TowerTrainResult {
  const rng = new Random(o.seed);
  const sizes = { width: o.width, hidden: o.hidden, dim: o.dim };
  const vocabSize = (name: string): number => d.vocabs.get(name)!.size;
  const itemNet = new TowerNet(slotsOf(d.itemSpec, vocabSize), sizes, rng.fork(1));
  const userNet = new TowerNet(slotsOf(d.userSpec, vocabSize), sizes, rng.fork(2));
  const shuffleRng = rng.fork(3);
  const dropRng = rng.fork(4);

  const total = d.trainPos.length;
  const logQ = new Float32Array(d.nItems);
  for (let i = 0; i < d.nItems; i++) logQ[i] = Math.log(Math.max(d.itemCount[i], 1) / total);

  const val = validationSet(d, o.maxValidationUsers, rng.fork(5));
  const B = Math.min(o.batchSize, total);
  const itemBufs = batchBuffers(itemNet, B);
  const userBufs = batchBuffers(userNet, B);
  const batchItems = new Int32Array(B);
  const batchUsers = new Int32Array(B);
  const batchEnds = new Int32Array(B);
  const batchLogQ = new Float32Array(B);
  const dU = new Float32Array(B * o.dim);
  const dV = new Float32Array(B * o.dim);
  const loss = new InBatchLoss();
  const order = d.trainPos.slice();

  const epochs: EpochStats[] = [];
  let best = -1;
  let bestEpoch = 0;
  let bestSnap: { item: Float32Array[]; user: Float32Array[] } | null = null;
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    shuffleInt32(order, shuffleRng);
    let lossSum = 0;
    let batches = 0;
    // The last partial batch is dropped: too few in-batch negatives make a noisy step.
    for (let start = 0; start + B <= total; start += B) {
      for (let r = 0; r < B; r++) {
        const p = order[start + r];
        batchItems[r] = d.seqItem[p];
        batchLogQ[r] = logQ[d.seqItem[p]];
      }
      fillItemRows(d, itemNet, batchItems, B, itemBufs, o.itemIdDropout, dropRng);
      for (let r = 0; r < B; r++) {
        const p = order[start + r];
        batchUsers[r] = d.seqUser[p];
        batchEnds[r] = d.histEnd[p];
      }
      fillUserRowsAt(d, userNet, batchUsers, batchEnds, B, userBufs);
      if (o.userIdDropout > 0) dropIds(userBufs[0] as Int32Array, B, o.userIdDropout, dropRng);
      const V = itemNet.forward(itemBufs, B);
      const U = userNet.forward(userBufs, B);
      lossSum += loss.run({ U, V, B, D: o.dim, items: batchItems, logQ: batchLogQ, temperature: o.temperature }, dU, dV);
      userNet.backward(dU);
      itemNet.backward(dV);
      const lrT = adamLr(o.lr, ++step);
      userNet.step(lrT);
      itemNet.step(lrT);
      batches++;
    }
    const recall = evaluateRecall(d, itemNet, userNet, val, 10);
    const stats = { epoch, loss: batches > 0 ? lossSum / batches : NaN, recallAt10: recall, ms: Math.round(performance.now() - t0) };
    epochs.push(stats);
    const rate = Math.round((batches * B) / (Math.max(1, stats.ms) / 1000));
    o.log(`epoch ${epoch}/${o.epochs}: loss ${stats.loss.toFixed(4)}, validation recall@10 ${recall.toFixed(4)} (${val.users.length} users), ${stats.ms} ms (${rate} pairs/s incl. validation)`);
    if (val.users.length === 0) {
      // Nothing to validate on (no user has two interactions): train every epoch, keep the last.
      bestEpoch = epoch;
    } else if (recall > best) {
      best = recall;
      bestEpoch = epoch;
      bestSnap = { item: itemNet.snapshot(), user: userNet.snapshot() };
    } else if (epoch - bestEpoch >= o.patience) {
      o.log(`early stop: no better recall since epoch ${bestEpoch}`);
      break;
    }
  }
  if (bestSnap) {
    itemNet.restore(bestSnap.item);
    userNet.restore(bestSnap.user);
  }
  itemNet.fillUntrainedRows();
  userNet.fillUntrainedRows();
  const validation: Record<string, number> = {
    'recall@10': evaluateRecall(d, itemNet, userNet, val, 10),
    'recall@50': evaluateRecall(d, itemNet, userNet, val, 50),
    'popularity_recall@10': popularityRecall(d, val, 10),
    validation_users: val.users.length,
  };
  return { itemNet, userNet, epochs, bestEpoch, validation };
}

interface ValidationSet {
  users: Int32Array;
  /** Position of each user's held-out interaction. */
  pos: Int32Array;
}

function validationSet(d: PreparedData, max: number, rng: Random): ValidationSet {
  const users: number[] = [];
  for (let u = 0; u < d.nUsers; u++) if (d.valPos[u] >= 0) users.push(u);
  // A fixed random sample keeps validation cheap on large worlds and comparable across epochs.
  if (users.length > max) rng.shuffle(users).length = max;
  users.sort((a, b) => a - b);
  const u32 = Int32Array.from(users);
  return { users: u32, pos: u32.map((u) => d.valPos[u]) };
}

function batchBuffers(net: TowerNet, B: number): SlotData[] {
  return net.slots.map((s) => (s.kind === 'numeric' ? new Float32Array(B * s.len) : new Int32Array(B * s.len)));
}

/** Copies the encoded inputs of items into the batch buffers (row r = item items[r]). */
export function fillItemRows(d: PreparedData, net: TowerNet, items: Int32Array, B: number, bufs: SlotData[], idDropout: number, rng: Random | null): void {
  net.slots.forEach((s, k) => copyRows(d.itemInputs[k], s.len, items, B, bufs[k]));
  // The id input is always the first one (dataset.ts builds the specs).
  if (rng && idDropout > 0) dropIds(bufs[0] as Int32Array, B, idDropout, rng);
}

/**
 * User tower inputs for users[r] with the history of positions before ends[r] (at most maxHistory,
 * most recent last, left-aligned: the layout models/features.ts gives onnxruntime).
 */
export function fillUserRowsAt(d: PreparedData, net: TowerNet, users: Int32Array, ends: Int32Array, B: number, bufs: SlotData[]): void {
  net.slots.forEach((s, k) => {
    if (k !== d.historySlot) copyRows(d.userInputs[k], s.len, users, B, bufs[k]);
  });
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

function dropIds(ids: Int32Array, B: number, p: number, rng: Random): void {
  for (let r = 0; r < B; r++) if (rng.uniform() < p) ids[r] = 0;
}

function shuffleInt32(a: Int32Array, rng: Random): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
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

/** Share of validation users whose held-out item is in their top-K unseen items. */
function evaluateRecall(d: PreparedData, itemNet: TowerNet, userNet: TowerNet, val: ValidationSet, K: number): number {
  if (val.users.length === 0) return 0;
  itemNet.fillUntrainedRows();
  userNet.fillUntrainedRows();
  const itemEmb = embedAllItems(d, itemNet);
  const ends = val.pos.map((p) => d.histEnd[p]);
  const userEmb = embedUsersAt(d, userNet, val.users, ends);
  const got = retrieveTopK(userEmb, val.users.length, itemEmb, d.nItems, itemNet.D, K, (r, mark, stamp) => {
    const u = val.users[r];
    for (let p = d.userStart[u]; p < val.pos[r]; p++) mark[d.seqItem[p]] = stamp;
  });
  return hits(got.items, K, val, d);
}

/** The baseline: the K most popular training items the user has not seen. */
function popularityRecall(d: PreparedData, val: ValidationSet, K: number): number {
  if (val.users.length === 0) return 0;
  const n = d.nItems;
  const one = new Float32Array(n);
  for (let i = 0; i < n; i++) one[i] = d.itemCount[i];
  const items = new Int32Array(val.users.length * K).fill(-1);
  const scores = new Float32Array(K);
  const mark = new Int32Array(n).fill(-1);
  // Scoring by popularity alone is one shared row; only the exclusions differ per user.
  val.users.forEach((u, r) => {
    for (let p = d.userStart[u]; p < val.pos[r]; p++) mark[d.seqItem[p]] = r;
    scores.fill(-Infinity);
    topKRow(one, mark, r, K, items.subarray(r * K, (r + 1) * K), scores);
  });
  return hits(items, K, val, d);
}

function hits(items: Int32Array, K: number, val: ValidationSet, d: PreparedData): number {
  let h = 0;
  for (let r = 0; r < val.users.length; r++) {
    const target = d.seqItem[val.pos[r]];
    for (let k = 0; k < K; k++) if (items[r * K + k] === target) h++;
  }
  return h / val.users.length;
}
