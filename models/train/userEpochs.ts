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
import { OnnxFullStep } from './onnxFullStep.js';
import { sampleInOrder } from './pairEpochs.js';
import { batchBuffers, dropIds, fillItemRows, fillUserFeatures, shuffleInt32, trainEnd } from './towerInputs.js';
import type { TowerNet } from './towerNet.js';
import type { EpochResult, EpochRunner, TowerTrainOptions } from './trainTowers.js';

export async function userEpochs(d: PreparedData, itemNet: TowerNet, userNet: TowerNet, o: TowerTrainOptions, rng: Random): Promise<EpochRunner> {
  const N = d.nItems;
  const H = d.maxHistory;
  const shuffleRng = rng.fork(3);
  const dropRng = rng.fork(4);
  const splitRng = rng.fork(6);
  const share = o.targetShare ?? 0.2;
  const window = o.futureWindow ?? 10;
  const mode = o.historyMode ?? 'before';
  const inputTargets = o.inputTargets ?? false;
  // Subtracting β·log q(item) from the training logits makes the model add it back at serving
  // time: a popularity boost of strength β, as the in-batch objective's over-corrected logQ gives.
  const beta = o.popularityBoost ?? 0;
  const offset = new Float32Array(N);
  if (beta > 0) {
    let total = 0;
    for (let i = 0; i < N; i++) total += d.itemCount[i];
    for (let i = 0; i < N; i++) offset[i] = -beta * Math.log(Math.max(d.itemCount[i], 1) / Math.max(total, 1));
  }
  const byItem = o.targetWeighting === 'item';
  const power = o.targetPower ?? 1;

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
  const tgt = new Float32Array(Bu * N);
  const mask = new Float32Array(Bu * N);
  const rowW = new Float32Array(Bu);
  const onnx = await OnnxFullStep.create(itemNet.E, itemNet.H, itemNet.D, { i: itemNet.normalize, u: userNet.normalize });
  let idx = new Int32Array(64);
  let step = 0;

  const run = async (lrScale = 1): Promise<EpochResult> => {
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
      const mask_: number[] = [];
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
            if (inputTargets) targets.push(d.seqItem[rest[k]]);
            else mask_.push(d.seqItem[rest[k]]);
          }
          for (let k = 0; k < nTarget; k++) targets.push(d.seqItem[idx[k]]);
          for (let k = take; k < n - nTarget; k++) targets.push(d.seqItem[rest[k]]);
        } else {
          const cut = a + 1 + splitRng.int(n - 1);
          const begin = Math.max(a, cut - H);
          for (let p = begin; p < cut; p++) hist[r * H + (p - begin)] = d.seqItem[p] + 1;
          for (let p = a; p < cut; p++) mask_.push(d.seqItem[p]);
          const seen = new Set(mask_.slice(maskStart[r]));
          for (let p = cut; p < Math.min(a + n, cut + window); p++) if (!seen.has(d.seqItem[p])) targets.push(d.seqItem[p]);
        }
        targetStart.push(targets.length);
        maskStart.push(mask_.length);
      }
      if (o.userIdDropout > 0) dropIds(userBufs[0] as Int32Array, B, o.userIdDropout, dropRng);
      (itemBufs[0] as Int32Array).set(itemIds);
      if (o.itemIdDropout > 0) dropIds(itemBufs[0] as Int32Array, N, o.itemIdDropout, dropRng);
      tgt.fill(0, 0, B * N);
      for (let r = 0; r < B; r++) mask.set(offset, r * N);
      // Per user: a user with nt targets weighs nt^(1 - power), each target nt^-power, scaled so that
      // the batch's users average 1 (power 1: every user weighs 1); per item: each target weighs 1.
      let scale = 1;
      if (!byItem && power !== 1) {
        let total = 0;
        for (let r = 0; r < B; r++) total += Math.pow(Math.max(1, targetStart[r + 1] - targetStart[r]), 1 - power);
        scale = B / total;
      }
      for (let r = 0; r < B; r++) {
        const nt = targetStart[r + 1] - targetStart[r];
        const w = byItem ? 1 : power === 1 ? 1 / nt : scale * Math.pow(Math.max(1, nt), -power);
        rowW[r] = nt > 0 ? nt * w : 0;
        for (let k = targetStart[r]; k < targetStart[r + 1]; k++) tgt[r * N + targets[k]] += w;
        for (let k = maskStart[r]; k < maskStart[r + 1]; k++) mask[r * N + mask_[k]] = -1e9;
      }
      const xi = itemNet.pool(itemBufs, N);
      const xu = userNet.pool(userBufs, B);
      const res = await onnx.run({ xi, xu, N, B, item: itemNet, user: userNet, tgt, mask, rowW, temperature: o.temperature });
      lossSum += res.loss;
      itemNet.addHeadGradients(res.item.w1, res.item.b1, res.item.w2, res.item.b2);
      userNet.addHeadGradients(res.user.w1, res.user.b1, res.user.w2, res.user.b2);
      itemNet.backwardPool(res.dxi);
      userNet.backwardPool(res.dxu);
      const lrT = adamLr(o.lr * lrScale, ++step);
      const decay = o.lr * lrScale * (o.weightDecay ?? 0);
      userNet.step(lrT, decay);
      itemNet.step(lrT, decay);
      batches++;
      examples += targets.length;
    }
    return { loss: batches > 0 ? lossSum / batches : NaN, examples };
  };
  return { run, close: () => onnx.release() };
}
