import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld, type World } from '../../shared/data/generate.js';
import { Random } from '../../shared/data/random.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';
import { readModelManifest } from '../../models/manifest.js';
import { loadModel, type LoadedModel } from '../../models/model.js';
import type { UserQuery } from '../../models/types.js';
import { prepareData } from '../../models/train/dataset.js';
import { trainModel, type TrainResult } from '../../models/train/trainModel.js';
import { trainRanker } from '../../models/train/trainRanker.js';
import { embedAllItems, embedUsersAt, trainTowers } from '../../models/train/trainTowers.js';
import { writeModelFolder } from '../../models/train/writeModel.js';
import { fullHistoryQueries } from './userQueries.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'twotower-train-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Each user's training history (oldest first) and holdout items, from the world's tables. */
function splitByUser(world: World): { history: Map<string, string[]>; holdout: Map<string, Set<string>> } {
  const history = new Map<string, string[]>();
  const sorted = [...world.interactions].sort((a, b) => a.timestamp - b.timestamp);
  for (const r of sorted) {
    if (!history.has(r.userId)) history.set(r.userId, []);
    history.get(r.userId)!.push(r.itemId);
  }
  const holdout = new Map<string, Set<string>>();
  for (const r of world.holdout) {
    if (!holdout.has(r.userId)) holdout.set(r.userId, new Set());
    holdout.get(r.userId)!.add(r.itemId);
  }
  return { history, holdout };
}

/** Mean over users of |top-K unseen ∩ holdout| / |holdout|, where rank(u) gives item indices best first. */
function recallAtK(world: World, K: number, rank: (userIdx: number, seen: Set<string>) => number[]): number {
  const { history, holdout } = splitByUser(world);
  let sum = 0;
  let n = 0;
  world.users.forEach((u, ui) => {
    const target = holdout.get(u.userId);
    if (!target || target.size === 0) return;
    const seen = new Set(history.get(u.userId) ?? []);
    const top = rank(ui, seen).slice(0, K);
    let hits = 0;
    for (const i of top) if (target.has(world.items[i].itemId)) hits++;
    sum += hits / target.size;
    n++;
  });
  return sum / n;
}

function topUnseen(scores: ArrayLike<number>, world: World, seen: Set<string>, K: number): number[] {
  const idx = Array.from({ length: world.items.length }, (_, i) => i).filter((i) => !seen.has(world.items[i].itemId));
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, K);
}

describe('trainModel on a synthetic world with planted structure', () => {
  const world = generateWorld({ items: 1500, users: 600, seed: 11 });
  let result: TrainResult;
  let model: LoadedModel;
  const dir = (): string => join(tmp, 'model');

  beforeAll(async () => {
    result = await trainModel(world, dir(), { seed: 5 });
    model = await loadModel(dir());
  }, 60_000);
  afterAll(async () => {
    await model?.close();
  });

  it('writes a complete model folder whose manifest records the training', async () => {
    const files = (await readdir(dir())).sort();
    expect(files).toEqual(
      expect.arrayContaining(['manifest.json', 'item_tower.onnx', 'user_tower.onnx', 'ranker.onnx', 'items.vocab.json', 'users.vocab.json', 'tags.vocab.json', 'category.vocab.json']),
    );
    expect(files.some((f) => f.includes('.tmp-'))).toBe(false);
    const m = await readModelManifest(dir());
    expect(m.modelVersion).toBe(result.modelVersion);
    expect(m.modelVersion).toMatch(/^m-[0-9a-f]{12}$/);
    expect(m.ranker.features).toEqual([...RANK_FEATURES]);
    expect(m.training?.epochs.length).toBeGreaterThan(0);
    expect(m.training?.validation['recall@10']).toBe(result.validation['recall@10']);
    expect(Object.keys(model.fileHashes).sort()).toEqual(files);
    expect(result.timingsMs.towers).toBeGreaterThan(0);
  });

  it('beats popularity on Recall@10 of held-out items by a clear margin (through onnxruntime)', async () => {
    const { history } = splitByUser(world);
    const D = model.dim;
    const itemEmb = await model.embedItems(world.items);
    const queries: UserQuery[] = world.users.map((u) => ({ userId: u.userId, user: u, history: history.get(u.userId) ?? [] }));
    const userEmb = await model.embedUsers(queries);
    const scores = new Float32Array(world.items.length);
    const modelRecall = recallAtK(world, 10, (ui, seen) => {
      for (let i = 0; i < world.items.length; i++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += userEmb[ui * D + d] * itemEmb[i * D + d];
        scores[i] = s;
      }
      return topUnseen(scores, world, seen, 10);
    });
    const counts = new Float64Array(world.items.length);
    const index = new Map(world.items.map((r, i) => [r.itemId, i]));
    for (const r of world.interactions) counts[index.get(r.itemId)!]++;
    const popRecall = recallAtK(world, 10, (_ui, seen) => topUnseen(counts, world, seen, 10));
    console.log(`holdout recall@10: two-tower ${modelRecall.toFixed(4)}, popularity ${popRecall.toFixed(4)}; validation ${JSON.stringify(result.validation)}; timings ${JSON.stringify(result.timingsMs)}`);
    expect(modelRecall).toBeGreaterThan(2 * popRecall);
    expect(modelRecall - popRecall).toBeGreaterThan(0.05);
    expect(result.validation['recall@10']).toBeGreaterThan(2 * result.validation['popularity_recall@10']);
  });

  it('the ranker does not do worse than retrieval order on its validation lists', () => {
    expect(result.validation['ranker_recall@10']).toBeGreaterThanOrEqual(result.validation['ranker_retrieval_order_recall@10'] - 0.02);
  });

});

describe('reproducibility', () => {
  it('the same data and seed give the same model version; another seed another one', async () => {
    const world = generateWorld({ items: 300, users: 100, seed: 2 });
    const opts = { seed: 9, epochs: 2, dim: 16 };
    const a = await trainModel(world, join(tmp, 'repro-a'), opts);
    const b = await trainModel(world, join(tmp, 'repro-b'), opts);
    const c = await trainModel(world, join(tmp, 'repro-c'), { ...opts, seed: 10 });
    expect(b.modelVersion).toBe(a.modelVersion);
    expect(c.modelVersion).not.toBe(a.modelVersion);
  }, 30_000);
});

describe('export parity: onnxruntime computes what the trainer computes', () => {
  it('item and user embeddings and ranker scores agree within 1e-4', async () => {
    const world = generateWorld({ items: 400, users: 150, seed: 4 });
    const d = prepareData(world, { maxHistory: 12, dim: 16 });
    const log = (): void => undefined;
    const towers = await trainTowers(d, {
      dim: 16, width: 24, hidden: 20, epochs: 1, batchSize: 128, lr: 0.01, temperature: 0.1, seed: 2, patience: 1,
      userIdDropout: 0.2, itemIdDropout: 0.1, maxValidationUsers: 100, log,
    });
    const ranker = trainRanker(d, towers.itemNet, towers.userNet, { hidden: 8, epochs: 2, lr: 0.01, candidates: 50, sessionMax: 3, maxUsers: 100, listsPerUser: 2, patience: 2, seed: 2, log });
    const dir = join(tmp, 'parity');
    await writeModelFolder(dir, {
      dim: 16, itemSpec: d.itemSpec, userSpec: d.userSpec, itemWeights: towers.itemNet.weights(), userWeights: towers.userNet.weights(),
      rankerWeights: ranker.net.weights(), vocabs: d.vocabs,
    });
    const model = await loadModel(dir);
    try {
      const ours = embedAllItems(d, towers.itemNet);
      const theirs = await model.embedItems(world.items);
      expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4);

      // Users with their full history (longer than maxHistory for most, so truncation is exercised).
      const { users, ends, queries } = fullHistoryQueries(d, world);
      const oursU = embedUsersAt(d, towers.userNet, users, ends);
      const theirsU = await model.embedUsers(queries);
      expect(maxAbsDiff(oursU, theirsU)).toBeLessThan(1e-4);

      const rng = new Random(8);
      const n = 300;
      const F = RANK_FEATURES.length;
      const features = Float32Array.from({ length: n * F }, () => rng.normal());
      const oursS = new Float32Array(n);
      ranker.net.forward(features, n, oursS);
      const theirsS = await model.scoreRanker(features, n);
      expect(theirsS.length).toBe(n);
      expect(maxAbsDiff(oursS, theirsS)).toBeLessThan(1e-4);
    } finally {
      await model.close();
    }
  });
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(b.length).toBe(a.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
