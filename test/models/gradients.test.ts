import { describe, expect, it } from 'vitest';
import { Random } from '../../shared/data/random.js';
import { checkGradient } from './gradCheck.js';
import { InBatchLoss } from '../../models/train/loss.js';
import { TowerNet, type SlotData, type SlotSpec } from '../../models/train/towerNet.js';

/** A tiny case: every slot kind, a repeated item (accidental hit) and a non-zero logQ. */
function tinyCase() {
  const rng = new Random(3);
  const sizes = { width: 4, hidden: 5, dim: 3 };
  const itemSlots: SlotSpec[] = [
    { name: 'item_id', kind: 'single', len: 1, rows: 6 },
    { name: 'tags', kind: 'bag', len: 3, rows: 5 },
    { name: 'numeric', kind: 'numeric', len: 2, rows: 0 },
  ];
  const userSlots: SlotSpec[] = [
    { name: 'user_id', kind: 'single', len: 1, rows: 4 },
    { name: 'numeric', kind: 'numeric', len: 1, rows: 0 },
    { name: 'history', kind: 'bag', len: 4, rows: 6 },
  ];
  const itemNet = new TowerNet(itemSlots, sizes, rng.fork(1));
  const userNet = new TowerNet(userSlots, sizes, rng.fork(2));
  // Biases start at zero; make them non-zero so their gradients are exercised off the init.
  for (const net of [itemNet, userNet]) {
    net.b1.forEach((_, i) => (net.b1[i] = 0.1 * (i - 2)));
    net.b2.forEach((_, i) => (net.b2[i] = 0.05 * (i + 1)));
  }
  const B = 4;
  const items = Int32Array.from([1, 2, 3, 2]);
  const itemInputs: SlotData[] = [items, Int32Array.from([1, 2, 0, 3, 0, 0, 0, 0, 0, 4, 1, 2]), Float32Array.from([0.5, -1, 1.5, 0.2, -0.3, 0.8, 0, 1])];
  const userInputs: SlotData[] = [Int32Array.from([1, 2, 3, 0]), Float32Array.from([0.3, -0.7, 1.1, 0]), Int32Array.from([1, 2, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 4, 3, 2])];
  const logQ = Float32Array.from([-1, -2, -0.5, -2]);
  const loss = new InBatchLoss();
  const dU = new Float32Array(B * 3);
  const dV = new Float32Array(B * 3);
  const lossAt = (): number => {
    const V = itemNet.forward(itemInputs, B).slice();
    const U = userNet.forward(userInputs, B).slice();
    return loss.run({ U, V, B, D: 3, items, logQ, temperature: 0.5 }, dU, dV);
  };
  const backprop = (): void => {
    const V = itemNet.forward(itemInputs, B);
    const U = userNet.forward(userInputs, B);
    loss.run({ U, V, B, D: 3, items, logQ, temperature: 0.5 }, dU, dV);
    userNet.backward(dU);
    itemNet.backward(dV);
  };
  return { itemNet, userNet, lossAt, backprop };
}


describe('trainer gradients', () => {
  it('match central differences for every parameter kind of both towers', () => {
    const { itemNet, userNet, lossAt, backprop } = tinyCase();
    backprop();
    let checked = 0;
    let nonZero = 0;
    for (const net of [itemNet, userNet]) {
      const g = net.gradients();
      const dense: [Float32Array, Float32Array][] = [
        [net.w1, g.w1],
        [net.b1, g.b1],
        [net.w2, g.w2],
        [net.b2, g.b2],
      ];
      for (const [p, gp] of dense) {
        for (let i = 0; i < p.length; i++) {
          checkGradient(gp[i], p, i, lossAt);
          checked++;
          if (Math.abs(gp[i]) > 1e-4) nonZero++;
        }
      }
      net.slots.forEach((slot, s) => {
        const table = net.tables[s];
        const rows = slot.kind === 'numeric' ? 1 : slot.rows;
        for (let r = 0; r < rows; r++) {
          const gr = g.table(s, r);
          const width = slot.kind === 'numeric' ? table.length : net.E;
          for (let e = 0; e < width; e++) {
            const analytic = gr ? gr[e] : 0; // an untouched row has no gradient
            checkGradient(analytic, table, r * net.E + e, lossAt);
            checked++;
            if (Math.abs(analytic) > 1e-4) nonZero++;
          }
        }
      });
    }
    expect(checked).toBe(182);
    expect(nonZero).toBeGreaterThan(100);
  });

  it('in-batch loss: gradients w.r.t. the embeddings match central differences', () => {
    const rng = new Random(9);
    const B = 5;
    const D = 4;
    const U = Float32Array.from({ length: B * D }, () => rng.normal());
    const V = Float32Array.from({ length: B * D }, () => rng.normal());
    const items = Int32Array.from([0, 1, 2, 1, 3]);
    const logQ = Float32Array.from([-1, -3, -2, -3, -0.5]);
    const loss = new InBatchLoss();
    const dU = new Float32Array(B * D);
    const dV = new Float32Array(B * D);
    const scratchU = new Float32Array(B * D);
    const scratchV = new Float32Array(B * D);
    loss.run({ U, V, B, D, items, logQ, temperature: 0.7 }, dU, dV);
    const gU = dU.slice();
    const gV = dV.slice();
    const lossAt = (): number => loss.run({ U, V, B, D, items, logQ, temperature: 0.7 }, scratchU, scratchV);
    for (let i = 0; i < B * D; i++) {
      checkGradient(gU[i], U, i, lossAt);
      checkGradient(gV[i], V, i, lossAt);
    }
  });
});

describe('weight moving average (ema)', () => {
  it('tracks the live weights after each step and swaps back exactly', () => {
    const { itemNet, backprop } = tinyCase();
    const w0 = itemNet.snapshot();
    itemNet.enableEma(0.5); // the first step's decay is min(0.5, 1/10) = 0.1
    backprop();
    itemNet.step(0.01);
    const live = itemNet.snapshot();
    itemNet.swapEma();
    const avg = itemNet.snapshot();
    // After one step the average has moved 90% of the way from the start to the live weights.
    for (let s = 0; s < live.length; s++)
      for (let j = 0; j < live[s].length; j++) expect(avg[s][j]).toBeCloseTo(w0[s][j] + 0.9 * (live[s][j] - w0[s][j]), 6);
    itemNet.swapEma();
    expect(itemNet.snapshot()).toEqual(live);
  });

  it('a shorter warm-up keeps more of the earlier steps in the average (polynomial-decay averaging)', () => {
    const { itemNet, backprop } = tinyCase();
    const w0 = itemNet.snapshot();
    itemNet.enableEma(0.999, 4); // decay after step n: min(0.999, (1 + n) / (4 + n))
    backprop();
    itemNet.step(0.01);
    const w1 = itemNet.snapshot();
    backprop();
    itemNet.step(0.01);
    const w2 = itemNet.snapshot();
    itemNet.swapEma();
    const avg = itemNet.snapshot();
    // Step 0: decay 1/4, the average is w0 + 0.75 (w1 - w0); step 1: decay 2/5, it moves 60% of the way to w2.
    for (let s = 0; s < w2.length; s++)
      for (let j = 0; j < w2[s].length; j++) {
        const a1 = w0[s][j] + 0.75 * (w1[s][j] - w0[s][j]);
        expect(avg[s][j]).toBeCloseTo(a1 + 0.6 * (w2[s][j] - a1), 6);
      }
    expect(() => itemNet.enableEma(0.99, 1)).toThrow(/warm-up/);
  });
});
