/**
 * The full-catalog objective: the JavaScript loss against numerical gradients, and the
 * onnxruntime training step against the JavaScript forward and backward passes.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../../shared/data/random.js';
import { checkGradient } from './gradCheck.js';
import { FullSoftmaxLoss } from '../../models/train/fullSoftmax.js';
import { OnnxFullStep } from '../../models/train/onnxFullStep.js';
import { TowerNet, type SlotData, type SlotSpec } from '../../models/train/towerNet.js';

const N = 6;
const B = 3;
const D = 3;
const T = 0.5;

function tinyCase() {
  const rng = new Random(4);
  const sizes = { width: 4, hidden: 5, dim: D };
  const itemNet = new TowerNet(
    [
      { name: 'item_id', kind: 'single', len: 1, rows: N + 1 },
      { name: 'tags', kind: 'bag', len: 2, rows: 4 },
    ] satisfies SlotSpec[],
    sizes,
    rng.fork(1),
  );
  const userNet = new TowerNet(
    [
      { name: 'user_id', kind: 'single', len: 1, rows: 4 },
      { name: 'history', kind: 'bag', len: 3, rows: N + 1 },
    ] satisfies SlotSpec[],
    sizes,
    rng.fork(2),
  );
  for (const net of [itemNet, userNet]) net.b1.forEach((_, i) => (net.b1[i] = 0.1 * (i - 2)));
  const itemInputs: SlotData[] = [Int32Array.from([1, 2, 3, 4, 5, 6]), Int32Array.from([1, 2, 3, 0, 0, 0, 2, 0, 1, 3, 3, 0])];
  const userInputs: SlotData[] = [Int32Array.from([1, 2, 3]), Int32Array.from([1, 2, 0, 4, 0, 0, 5, 6, 1])];
  // User 0: targets 3 and 4, input items 0 and 1 masked; user 1: target 0, item 3 masked; user 2: no target.
  const batch = {
    targetStart: Int32Array.from([0, 2, 3, 3]),
    targets: Int32Array.from([3, 4, 0]),
    maskStart: Int32Array.from([0, 2, 3, 3]),
    mask: Int32Array.from([0, 1, 3]),
  };
  return { itemNet, userNet, itemInputs, userInputs, batch };
}

describe('full-catalog softmax', () => {
  it('the JavaScript loss gradients match numerical ones', () => {
    const c = tinyCase();
    const loss = new FullSoftmaxLoss();
    const dU = new Float32Array(B * D);
    const dV = new Float32Array(N * D);
    const lossAt = (): number => {
      const V = c.itemNet.forward(c.itemInputs, N).slice();
      const U = c.userNet.forward(c.userInputs, B).slice();
      return loss.run({ U, V, B, N, D, ...c.batch, temperature: T }, dU, dV);
    };
    lossAt();
    const V = c.itemNet.forward(c.itemInputs, N).slice();
    const U = c.userNet.forward(c.userInputs, B).slice();
    loss.run({ U, V, B, N, D, ...c.batch, temperature: T }, dU, dV);
    c.userNet.backward(dU);
    c.itemNet.forward(c.itemInputs, N);
    c.itemNet.backward(dV);
    for (const net of [c.itemNet, c.userNet]) {
      const g = net.gradients();
      for (let i = 0; i < net.w1.length; i += 3) checkGradient(g.w1[i], net.w1, i, lossAt);
      for (let i = 0; i < net.b2.length; i++) checkGradient(g.b2[i], net.b2, i, lossAt);
    }
  });

  it('the onnxruntime step computes the JavaScript loss and gradients', async () => {
    const js = tinyCase();
    const loss = new FullSoftmaxLoss();
    const dU = new Float32Array(B * D);
    const dV = new Float32Array(N * D);
    const V = js.itemNet.forward(js.itemInputs, N).slice();
    const U = js.userNet.forward(js.userInputs, B).slice();
    const jsLoss = loss.run({ U, V, B, N, D, ...js.batch, temperature: T }, dU, dV);
    js.userNet.backward(dU);
    js.itemNet.forward(js.itemInputs, N);
    js.itemNet.backward(dV);

    const ox = tinyCase();
    const tgt = new Float32Array(B * N);
    const mask = new Float32Array(B * N);
    const rowW = new Float32Array(B);
    for (let r = 0; r < B; r++) {
      const nt = ox.batch.targetStart[r + 1] - ox.batch.targetStart[r];
      rowW[r] = nt > 0 ? 1 : 0;
      for (let k = ox.batch.targetStart[r]; k < ox.batch.targetStart[r + 1]; k++) tgt[r * N + ox.batch.targets[k]] = 1 / nt;
      for (let k = ox.batch.maskStart[r]; k < ox.batch.maskStart[r + 1]; k++) mask[r * N + ox.batch.mask[k]] = -1e9;
    }
    const step = await OnnxFullStep.create(4, 5, D);
    try {
      const xi = ox.itemNet.pool(ox.itemInputs, N);
      const xu = ox.userNet.pool(ox.userInputs, B);
      const res = await step.run({ xi, xu, N, B, item: ox.itemNet, user: ox.userNet, tgt, mask, rowW, temperature: T });
      expect(res.loss).toBeCloseTo(jsLoss, 4);
      ox.itemNet.addHeadGradients(res.item.w1, res.item.b1, res.item.w2, res.item.b2);
      ox.userNet.addHeadGradients(res.user.w1, res.user.b1, res.user.w2, res.user.b2);
      ox.itemNet.backwardPool(res.dxi);
      ox.userNet.backwardPool(res.dxu);
      for (const [a, b] of [
        [js.itemNet, ox.itemNet],
        [js.userNet, ox.userNet],
      ] as const) {
        const ga = a.gradients();
        const gb = b.gradients();
        for (const k of ['w1', 'b1', 'w2', 'b2'] as const) expectClose(gb[k], ga[k]);
        for (let row = 0; row < 7; row++) {
          const ra = ga.table(1, row);
          const rb = gb.table(1, row);
          expect(rb === null).toBe(ra === null);
          if (ra && rb) expectClose(rb, ra);
        }
      }
    } finally {
      await step.release();
    }
  });
});

function expectClose(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4 + 1e-3 * Math.abs(b[i]));
}

