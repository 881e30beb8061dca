/**
 * Seed ensembles (models/train/towerEnsemble.ts): the exported towers give what the trainer
 * computes, user · item is the mean of the members' similarities, and trainModel trains and
 * records the members.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld } from '../../shared/data/generate.js';
import { readModelManifest } from '../../models/manifest.js';
import { loadModel } from '../../models/model.js';
import { prepareData } from '../../models/train/dataset.js';
import { concatMembers, embedAllItemsOf, embedUsersAtOf } from '../../models/train/towerEnsemble.js';
import { trainModel } from '../../models/train/trainModel.js';
import { trainRanker } from '../../models/train/trainRanker.js';
import { embedAllItems, embedUsersAt, trainTowers } from '../../models/train/trainTowers.js';
import { writeModelFolder } from '../../models/train/writeModel.js';
import { fullHistoryQueries } from './userQueries.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'twotower-ensemble-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const log = (): void => undefined;

describe('concatMembers', () => {
  it('puts rows side by side scaled by 1/sqrt(M), and leaves a single member as it is', () => {
    const a = Float32Array.of(1, 2, 3, 4); // 2 rows × 2
    const b = Float32Array.of(5, 6, 7, 8, 9, 10); // 2 rows × 3
    const s = Math.fround(Math.SQRT1_2);
    expect(Array.from(concatMembers([a, b], [2, 3], 2))).toEqual([1, 2, 5, 6, 7, 3, 4, 8, 9, 10].map((x) => Math.fround(x * s)));
    expect(concatMembers([a], [2], 2)).toBe(a);
  });
});

describe('an exported ensemble', () => {
  it('embeds as the trainer does, at unit length, and scores the mean of its members', async () => {
    const world = generateWorld({ items: 300, users: 120, seed: 5 });
    const d = prepareData(world, { maxHistory: 12, dim: 8 });
    const opts = { dim: 8, width: 12, hidden: 10, epochs: 1, batchSize: 128, lr: 0.01, temperature: 0.1, patience: 1, userIdDropout: 0.2, itemIdDropout: 0.1, maxValidationUsers: 100, log };
    const members = [await trainTowers(d, { ...opts, seed: 1 }), await trainTowers(d, { ...opts, seed: 2 })];
    const itemNets = members.map((m) => m.itemNet);
    const userNets = members.map((m) => m.userNet);
    const ranker = trainRanker(d, itemNets, userNets, { hidden: 8, epochs: 1, lr: 0.01, candidates: 40, sessionMax: 3, maxUsers: 60, listsPerUser: 1, patience: 1, seed: 1, log });
    const dir = join(tmp, 'parity');
    await writeModelFolder(dir, {
      dim: 16, itemSpec: d.itemSpec, userSpec: d.userSpec, itemWeights: itemNets.map((n) => n.weights()), userWeights: userNets.map((n) => n.weights()),
      rankerWeights: ranker.net.weights(), vocabs: d.vocabs,
    });
    expect((await readModelManifest(dir)).embeddingDim).toBe(16);
    const model = await loadModel(dir);
    try {
      const ours = embedAllItemsOf(d, itemNets);
      const theirs = await model.embedItems(world.items);
      expect(theirs.length).toBe(d.nItems * 16);
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);

      const { users, ends, queries } = fullHistoryQueries(d, world);
      const theirsU = await model.embedUsers(queries);
      expect(maxAbsDiff(embedUsersAtOf(d, userNets, users, ends), theirsU)).toBeLessThan(1e-4);

      // Unit length (both members are cosine towers), and user · item = mean of the members' cosines.
      const item0 = embedAllItems(d, itemNets[0]);
      const item1 = embedAllItems(d, itemNets[1]);
      const user0 = embedUsersAt(d, userNets[0], users, ends);
      const user1 = embedUsersAt(d, userNets[1], users, ends);
      let worstNorm = 0;
      let worstMean = 0;
      for (let u = 0; u < 20; u++) {
        worstNorm = Math.max(worstNorm, Math.abs(dot(theirsU, u * 16, theirsU, u * 16, 16) - 1));
        for (let i = 0; i < 50; i++) {
          const mean = (dot(user0, u * 8, item0, i * 8, 8) + dot(user1, u * 8, item1, i * 8, 8)) / 2;
          worstMean = Math.max(worstMean, Math.abs(dot(theirsU, u * 16, theirs, i * 16, 16) - mean));
        }
      }
      expect(worstNorm).toBeLessThan(1e-5);
      expect(worstMean).toBeLessThan(1e-5);
    } finally {
      await model.close();
    }
  });
});

describe('trainModel with an ensemble', () => {
  it('trains the members from consecutive seeds and records them; the bag-of-items default is two', async () => {
    const world = generateWorld({ items: 200, users: 80, seed: 6 });
    const one = await trainModel(world, join(tmp, 'one'), { dim: 8, epochs: 2, seed: 3, objective: 'full', historyMode: 'others', ensemble: 1, log });
    const two = await trainModel(world, join(tmp, 'two'), { dim: 8, epochs: 2, seed: 3, objective: 'full', historyMode: 'others', log });
    const m1 = await readModelManifest(join(tmp, 'one'));
    const m2 = await readModelManifest(join(tmp, 'two'));
    expect(m1.embeddingDim).toBe(8);
    expect(m2.embeddingDim).toBe(16);
    expect(m2.training?.params.ensemble).toBe(2);
    expect(m1.training?.params.ensemble).toBeUndefined();
    // Member 1 is the single model: its validation recall is the ensemble's first member's.
    expect(two.validation['member1.recall@10']).toBe(one.validation['recall@10']);
    expect(two.validation['member2.recall@10']).toBeGreaterThanOrEqual(0);
    expect(two.validation['recall@10']).toBeGreaterThan(0);
    expect(two.modelVersion).not.toBe(one.modelVersion);
    // The in-batch objective and the 'before' history stay single models by default.
    await trainModel(world, join(tmp, 'before'), { dim: 8, epochs: 1, seed: 3, objective: 'full', log });
    expect((await readModelManifest(join(tmp, 'before'))).embeddingDim).toBe(8);
  }, 60_000);

  it('refuses a member count that is not a positive integer, naming the option', async () => {
    const world = generateWorld({ items: 50, users: 20, seed: 7 });
    for (const ensemble of [0, 1.5, -2]) {
      await expect(trainModel(world, join(tmp, 'bad'), { dim: 4, epochs: 1, ensemble, log })).rejects.toThrow(/ensemble must be a positive integer/);
    }
  });
});

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += a[ao + j] * b[bo + j];
  return s;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
