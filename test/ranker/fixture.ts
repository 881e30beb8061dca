/**
 * A real published version for the ranker's tests: a small seeded world, a starter model trained
 * for a few epochs, and an index built into a temporary store, once per test file (vitest runs
 * each file in its own process, so a module-level cache would not be shared anyway).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildIndex } from '../../indexer/buildIndex.js';
import { trainModel } from '../../models/train/trainModel.js';
import { generateWorld, writeWorld, type World } from '../../shared/data/generate.js';
import { silentLogger } from '../../shared/log.js';
import type { IndexManifest } from '../../shared/store/types.js';
import { flipCurrent, newVersionId, readCurrent, versionDir } from '../../shared/store/versionStore.js';

export interface RankerFixture {
  root: string;
  data: string;
  model: string;
  store: string;
  /** The version published first. */
  versionId: string;
  world: World;
  /** A user with a precomputed list, and items that are and are not in their history. */
  knownUserId: string;
  cleanup(): Promise<void>;
}

export interface FixtureOptions {
  items?: number;
  users?: number;
  seed?: number;
}

export async function buildFixture(opts: FixtureOptions = {}): Promise<RankerFixture> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-ranker-'));
  const data = path.join(root, 'data');
  const model = path.join(root, 'model');
  const store = path.join(root, 'store');
  const world = generateWorld({ items: opts.items ?? 1500, users: opts.users ?? 600, seed: opts.seed ?? 11 });
  await writeWorld(data, world);
  await trainModel(world, model, { epochs: 2, seed: opts.seed ?? 11 });
  const versionId = await publish({ data, model, store });
  return {
    root,
    data,
    model,
    store,
    versionId,
    world,
    knownUserId: world.interactions[0].userId,
    cleanup: () => fs.rm(root, { recursive: true, force: true }),
  };
}

/** Builds and publishes a version (CURRENT flips to it); returns its id. */
export async function publish(fx: Pick<RankerFixture, 'data' | 'model' | 'store'>): Promise<string> {
  const built = await buildIndex({ data: fx.data, model: fx.model, store: fx.store, topK: 50, logger: silentLogger, minRecall: 0.5 });
  if (!built.published) throw new Error(`fixture version ${built.version} was not published`);
  return built.version;
}

export type Corruption = 'ranker_onnx' | 'hnsw_truncated';

/**
 * Publishes a damaged copy of `fromId` under a new id and flips CURRENT to it: what a bad
 * nightly build (or a disk error) would leave behind. Returns the new id.
 */
export async function publishCorrupt(store: string, fromId: string, how: Corruption): Promise<string> {
  // The id's second must differ from fromId's or sort after it; a fresh stamp does both.
  const id = newVersionId(new Date(Date.now() + 1000));
  const dir = versionDir(store, id);
  await fs.cp(versionDir(store, fromId), dir, { recursive: true });
  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as IndexManifest;
  manifest.version = id;
  await fs.writeFile(manifestFile, JSON.stringify(manifest));
  if (how === 'ranker_onnx') {
    await fs.writeFile(path.join(dir, 'model', 'ranker.onnx'), 'this is not an onnx model');
  } else {
    const file = path.join(dir, 'hnsw.bin');
    const { size } = await fs.stat(file);
    await fs.truncate(file, Math.floor(size / 3));
  }
  await flipCurrent(store, id);
  return id;
}

export async function currentId(store: string): Promise<string> {
  const id = await readCurrent(store);
  if (!id) throw new Error(`${store} has no CURRENT`);
  return id;
}
