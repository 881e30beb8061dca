/**
 * One epoch of pair training: mini-batches of (user, item) pairs scored against the other items of
 * the batch (in-batch sampled softmax with logQ correction, loss.ts). Costs pairs × batch × dim, so
 * it scales to catalogs where a softmax over every item would not.
 */
import type { Random } from '../../shared/data/random.js';
import { adamLr } from './dense.js';
import type { PreparedData } from './dataset.js';
import { InBatchLoss } from './loss.js';
import { batchBuffers, dropIds, fillItemRows, fillUserFeatures, fillUserRowsAt, shuffleInt32, trainEnd } from './towerInputs.js';
import type { SlotData, TowerNet } from './towerNet.js';
import type { EpochResult, EpochRunner, TowerTrainOptions } from './trainTowers.js';

export function pairEpochs(d: PreparedData, itemNet: TowerNet, userNet: TowerNet, o: TowerTrainOptions, rng: Random): EpochRunner {
  const total = d.trainPos.length;
  const logQ = new Float32Array(d.nItems);
  const alpha = o.logQWeight ?? 1;
  for (let i = 0; i < d.nItems; i++) logQ[i] = alpha * Math.log(Math.max(d.itemCount[i], 1) / total);
  const others = o.historyMode === 'others' ? new OtherItems(d) : null;
  const shuffleRng = rng.fork(3);
  const dropRng = rng.fork(4);
  const histRng = rng.fork(6);
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
  let step = 0;

  const run = (lrScale = 1): Promise<EpochResult> => {
    shuffleInt32(order, shuffleRng);
    let lossSum = 0;
    let batches = 0;
    // The last partial batch is dropped: too few in-batch negatives make a noisy step.
    for (let start = 0; start + B <= total; start += B) {
      for (let r = 0; r < B; r++) {
        const p = order[start + r];
        batchItems[r] = d.seqItem[p];
        batchLogQ[r] = logQ[d.seqItem[p]];
        batchUsers[r] = d.seqUser[p];
        batchEnds[r] = d.histEnd[p];
      }
      fillItemRows(d, itemNet, batchItems, B, itemBufs, o.itemIdDropout, dropRng);
      if (others) others.fill(order.subarray(start, start + B), batchUsers, userNet, userBufs, histRng);
      else fillUserRowsAt(d, userNet, batchUsers, batchEnds, B, userBufs);
      if (o.userIdDropout > 0) dropIds(userBufs[0] as Int32Array, B, o.userIdDropout, dropRng);
      const V = itemNet.forward(itemBufs, B);
      const U = userNet.forward(userBufs, B);
      lossSum += loss.run({ U, V, B, D: o.dim, items: batchItems, logQ: batchLogQ, temperature: o.temperature }, dU, dV);
      userNet.backward(dU);
      itemNet.backward(dV);
      const lrT = adamLr(o.lr * lrScale, ++step);
      const decay = o.lr * lrScale * (o.weightDecay ?? 0);
      userNet.step(lrT, decay);
      itemNet.step(lrT, decay);
      batches++;
    }
    return Promise.resolve({ loss: batches > 0 ? lossSum / batches : NaN, examples: batches * B });
  };
  return { run, close: () => Promise.resolve() };
}

/**
 * History inputs for training positions drawn from the user's other training items (at most
 * maxHistory, a uniform sample kept in time order). Held-out positions are never drawn.
 */
class OtherItems {
  private idx = new Int32Array(0);

  constructor(private readonly d: PreparedData) {}

  fill(positions: Int32Array, users: Int32Array, net: TowerNet, bufs: SlotData[], rng: Random): void {
    const d = this.d;
    const B = positions.length;
    fillUserFeatures(d, net, users, B, bufs);
    const H = d.maxHistory;
    const hist = bufs[d.historySlot] as Int32Array;
    hist.fill(0, 0, B * H);
    for (let r = 0; r < B; r++) {
      const a = d.userStart[users[r]];
      const n = trainEnd(d, users[r]) - a;
      if (this.idx.length < n) this.idx = new Int32Array(n * 2);
      const idx = this.idx;
      let m = 0;
      for (let q = a; q < a + n; q++) if (q !== positions[r]) idx[m++] = q;
      const take = sampleInOrder(idx, m, H, rng);
      for (let i = 0; i < take; i++) hist[r * H + i] = d.seqItem[idx[i]] + 1;
    }
  }
}

/**
 * Moves a uniform sample of min(k, m) of idx[0..m) to the front, in ascending order (time order for
 * positions); returns its size.
 */
export function sampleInOrder(idx: Int32Array, m: number, k: number, rng: Random): number {
  if (m <= k) return m;
  // Partial Fisher–Yates.
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(m - i);
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  idx.subarray(0, k).sort();
  return k;
}
