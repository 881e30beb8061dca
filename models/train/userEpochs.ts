/**
 * One epoch of user training: batches of users, each split into input items (the user tower's
 * history) and target items, scored against every catalog item (fullSoftmax.ts). Input items are
 * left out of the softmax, as seen items are left out at evaluation and serving.
 *
 * How a user is split follows historyMode:
 *   'others'  a random share targetShare of the user's training items (at least one) are targets;
 *             a sample of at most maxHistory of the rest is the input; anything else is a target too
 *   'before'  a random cut in time: the maxHistory items before it are the input, everything
 *             before it is seen, the next futureWindow items are targets (next-items prediction)
 */
import type { Random } from '../../shared/data/random.js';
import { adamLr } from './dense.js';
import type { PreparedData } from './dataset.js';
import { FullSoftmaxLoss } from './fullSoftmax.js';
import { sampleInOrder } from './pairEpochs.js';
import { batchBuffers, dropIds, fillItemRows, fillUserFeatures, shuffleInt32, trainEnd } from './towerInputs.js';
import type { TowerNet } from './towerNet.js';
import type { EpochResult, TowerTrainOptions } from './trainTowers.js';

export function userEpochs(d: PreparedData, itemNet: TowerNet, userNet: TowerNet, o: TowerTrainOptions, rng: Random): () => EpochResult {
  const N = d.nItems;
  const H = d.maxHistory;
  const shuffleRng = rng.fork(3);
  const dropRng = rng.fork(4);
  const splitRng = rng.fork(6);
  const share = o.targetShare ?? 0.2;
  const window = o.futureWindow ?? 10;
  const mode = o.historyMode ?? 'before';

  const eligible: number[] = [];
  for (let u = 0; u < d.nUsers; u++) if (trainEnd(d, u) - d.userStart[u] >= 2) eligible.push(u);
  const order = Int32Array.from(eligible);
  const Bu = Math.max(1, Math.min(o.usersPerBatch ?? 64, order.length));

  // Every item is in every step: encode the catalog once, re-drop ids per step.
  const allItems = Int32Array.from({ length: N }, (_, i) => i);
  const itemBufs = batchBuffers(itemNet, N);
  fillItemRows(d, itemNet, allItems, N, itemBufs, 0, null);
  const itemIds = (itemBufs[0] as Int32Array).slice();
  const userBufs = batchBuffers(userNet, Bu);
  const dU = new Float32Array(Bu * o.dim);
  const dV = new Float32Array(N * o.dim);
  const loss = new FullSoftmaxLoss();
  let idx = new Int32Array(64);
  let step = 0;

  return () => {
    shuffleInt32(order, shuffleRng);
    let lossSum = 0;
    let batches = 0;
    let examples = 0;
    for (let b0 = 0; b0 < order.length; b0 += Bu) {
      const B = Math.min(Bu, order.length - b0);
      const users = order.subarray(b0, b0 + B);
      fillUserFeatures(d, userNet, users, B, userBufs);
      const hist = userBufs[d.historySlot] as Int32Array;
      hist.fill(0, 0, B * H);
      const targets: number[] = [];
      const targetStart = [0];
      const mask: number[] = [];
      const maskStart = [0];
      for (let r = 0; r < B; r++) {
        const u = users[r];
        const a = d.userStart[u];
        const n = trainEnd(d, u) - a;
        if (idx.length < n) idx = new Int32Array(2 * n);
        if (mode === 'others') {
          for (let k = 0; k < n; k++) idx[k] = a + k;
          const nTarget = Math.max(1, Math.round(share * n));
          // The first nTarget of a shuffle are targets; the input is drawn from the rest.
          shuffleInt32(idx, splitRng, n);
          const rest = idx.subarray(nTarget, n);
          const take = sampleInOrder(rest, n - nTarget, H, splitRng);
          for (let k = 0; k < take; k++) {
            hist[r * H + k] = d.seqItem[rest[k]] + 1;
            mask.push(d.seqItem[rest[k]]);
          }
          for (let k = 0; k < nTarget; k++) targets.push(d.seqItem[idx[k]]);
          for (let k = take; k < n - nTarget; k++) targets.push(d.seqItem[rest[k]]);
        } else {
          const cut = a + 1 + splitRng.int(n - 1);
          const begin = Math.max(a, cut - H);
          for (let p = begin; p < cut; p++) hist[r * H + (p - begin)] = d.seqItem[p] + 1;
          for (let p = a; p < cut; p++) mask.push(d.seqItem[p]);
          const seen = new Set(mask.slice(maskStart[r]));
          for (let p = cut; p < Math.min(a + n, cut + window); p++) if (!seen.has(d.seqItem[p])) targets.push(d.seqItem[p]);
        }
        targetStart.push(targets.length);
        maskStart.push(mask.length);
      }
      if (o.userIdDropout > 0) dropIds(userBufs[0] as Int32Array, B, o.userIdDropout, dropRng);
      (itemBufs[0] as Int32Array).set(itemIds);
      if (o.itemIdDropout > 0) dropIds(itemBufs[0] as Int32Array, N, o.itemIdDropout, dropRng);
      const V = itemNet.forward(itemBufs, N);
      const U = userNet.forward(userBufs, B);
      lossSum += loss.run(
        {
          U, V, B, N, D: o.dim,
          targetStart: Int32Array.from(targetStart),
          targets: Int32Array.from(targets),
          maskStart: Int32Array.from(maskStart),
          mask: Int32Array.from(mask),
          temperature: o.temperature,
        },
        dU,
        dV,
      );
      userNet.backward(dU);
      itemNet.backward(dV);
      const lrT = adamLr(o.lr, ++step);
      userNet.step(lrT);
      itemNet.step(lrT);
      batches++;
      examples += targets.length;
    }
    return { loss: batches > 0 ? lossSum / batches : NaN, examples };
  };
}
