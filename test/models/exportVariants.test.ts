/**
 * Export parity for the tower variants the full-catalog objective uses: a 'dot' model (the item
 * tower's output not normalised) whose user tower pools its history as sum / √count. onnxruntime
 * must compute what the trainer's forward pass computes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../shared/data/generate.js';
import { loadModel } from '../../models/model.js';
import { prepareData } from '../../models/train/dataset.js';
import { trainRanker } from '../../models/train/trainRanker.js';
import { embedAllItems, embedUsersAt, trainTowers } from '../../models/train/trainTowers.js';
import { writeModelFolder } from '../../models/train/writeModel.js';
import { fullHistoryQueries } from './userQueries.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'twotower-variants-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('export parity of the full-softmax variants', () => {
  it("'dot' similarity and sqrt-n history pooling: embeddings agree within 1e-4", async () => {
    const world = generateWorld({ items: 300, users: 120, seed: 6 });
    const d = prepareData(world, { maxHistory: 10, dim: 8 });
    const log = (): void => undefined;
    const towers = await trainTowers(d, {
      dim: 8, width: 12, hidden: 10, epochs: 2, batchSize: 64, lr: 0.01, temperature: 0.1, seed: 3, patience: 2,
      userIdDropout: 0.2, itemIdDropout: 0.1, maxValidationUsers: 100, log,
      objective: 'full', historyMode: 'others', similarity: 'dot', historyPooling: 'sqrtn', weightDecay: 0.01,
    });
    expect(towers.objective).toBe('full');
    expect(towers.itemNet.normalize).toBe(false);
    const ranker = trainRanker(d, towers.itemNet, towers.userNet, { hidden: 4, epochs: 1, lr: 0.01, candidates: 20, sessionMax: 2, maxUsers: 50, listsPerUser: 1, patience: 1, seed: 1, log });
    const dir = join(tmp, 'dot-sqrtn');
    const m = await writeModelFolder(dir, {
      dim: 8, itemSpec: d.itemSpec, userSpec: d.userSpec, itemWeights: towers.itemNet.weights(), userWeights: towers.userNet.weights(),
      rankerWeights: ranker.net.weights(), vocabs: d.vocabs,
    });
    expect(m.similarity).toBe('dot');
    const model = await loadModel(dir);
    try {
      const ours = embedAllItems(d, towers.itemNet);
      const theirs = await model.embedItems(world.items);
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);
      // Not normalised: the item norms differ from 1.
      expect(Math.abs(norm(theirs.subarray(0, 8)) - 1)).toBeGreaterThan(1e-3);

      const { users, ends, queries } = fullHistoryQueries(d, world);
      const oursU = embedUsersAt(d, towers.userNet, users, ends);
      expect(maxAbsDiff(oursU, await model.embedUsers(queries))).toBeLessThan(1e-4);
    } finally {
      await model.close();
    }
  });
});

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
