/** A small untrained model folder for contract tests: real ONNX files, no training time. */
import { generateWorld, type World } from '../../shared/data/generate.js';
import { Random } from '../../shared/data/random.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';
import { prepareData, type PreparedData } from '../../models/train/dataset.js';
import { RankerNet } from '../../models/train/trainRanker.js';
import { TowerNet, slotsOf } from '../../models/train/towerNet.js';
import { writeModelFolder } from '../../models/train/writeModel.js';

export interface TinyModel {
  world: World;
  data: PreparedData;
  itemNet: TowerNet;
  userNet: TowerNet;
}

export async function writeTinyModel(dir: string, seed = 1): Promise<TinyModel> {
  const world = generateWorld({ items: 120, users: 40, seed });
  const data = prepareData(world, { maxHistory: 8, dim: 8 });
  const rng = new Random(seed);
  const sizes = { width: 12, hidden: 10, dim: 8 };
  const size = (v: string): number => data.vocabs.get(v)!.size;
  const itemNet = new TowerNet(slotsOf(data.itemSpec, size), sizes, rng.fork(1));
  const userNet = new TowerNet(slotsOf(data.userSpec, size), sizes, rng.fork(2));
  const ranker = new RankerNet(RANK_FEATURES.length, 4, rng.fork(3));
  await writeModelFolder(dir, {
    dim: 8,
    itemSpec: data.itemSpec,
    userSpec: data.userSpec,
    itemWeights: itemNet.weights(),
    userWeights: userNet.weights(),
    rankerWeights: ranker.weights(),
    vocabs: data.vocabs,
  });
  return { world, data, itemNet, userNet };
}
