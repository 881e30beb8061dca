/**
 * Loads a published version into memory for the ranker and the evaluator.
 *
 * Every file is checked against the manifest (counts, dimensions) so that a damaged version is
 * refused at load with a message naming the file, instead of serving wrong answers later.
 */
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { TwoTowerError } from '../errors.js';
import { loadModel } from '../../models/model.js';
import { LmdbCandidateStore } from '../candidates/lmdbCandidateStore.js';
import { LmdbUserStore } from '../candidates/lmdbUserStore.js';
import { readFloat32File, readJsonFile } from './binaryFiles.js';
import type { IndexManifest, LoadedVersion } from './types.js';
import { readCurrent, versionDir } from './versionStore.js';

export { readCurrent } from './versionStore.js';

export interface LoadVersionOptions {
  /** HNSW query-time ef; defaults to the value the version was built and validated with. */
  ef?: number;
  device?: 'cpu' | 'cuda' | 'auto';
}

export async function loadVersion(store: string, versionId?: string, opts: LoadVersionOptions = {}): Promise<LoadedVersion> {
  const id = versionId ?? (await readCurrent(store));
  if (!id) throw new TwoTowerError('STORE', `no published version in ${store} (CURRENT is missing)`);
  const dir = versionDir(store, id);
  const manifest = await readJsonFile<IndexManifest>(path.join(dir, 'manifest.json'));
  if (manifest.format !== 'twotower-index/1' || manifest.version !== id) {
    throw new TwoTowerError('STORE', `${path.join(dir, 'manifest.json')}: not a manifest of version ${id}`);
  }
  const dim = manifest.model.dim;
  const n = manifest.counts.items;

  const itemIds = await readJsonFile<string[]>(path.join(dir, 'item_ids.json'));
  if (!Array.isArray(itemIds) || itemIds.length !== n) {
    throw new TwoTowerError('STORE', `${path.join(dir, 'item_ids.json')}: expected ${n} item ids`);
  }
  const itemIndex = new Map<string, number>();
  itemIds.forEach((itemId, i) => itemIndex.set(itemId, i));

  const embeddings = await readFloat32File(path.join(dir, 'item_embeddings.f32'), n * dim);
  const popularity = await readFloat32File(path.join(dir, 'popularity.f32'), n);
  const meta = await readJsonFile<{ categories: string[]; category: number[] }>(path.join(dir, 'item_meta.json'));
  if (!Array.isArray(meta.category) || meta.category.length !== n) {
    throw new TwoTowerError('STORE', `${path.join(dir, 'item_meta.json')}: expected a category for each of ${n} items`);
  }
  const popular = Int32Array.from(await readJsonFile<number[]>(path.join(dir, 'popular.json')));

  const hnsw = new hnswlib.HierarchicalNSW('ip', dim);
  const hnswFile = path.join(dir, 'hnsw.bin');
  try {
    await hnsw.readIndex(hnswFile);
  } catch (err) {
    throw new TwoTowerError('STORE', `${hnswFile}: cannot read HNSW index (${(err as Error).message})`);
  }
  if (hnsw.getCurrentCount() !== n) {
    throw new TwoTowerError('STORE', `${hnswFile}: holds ${hnsw.getCurrentCount()} items, manifest says ${n}`);
  }
  hnsw.setEf(opts.ef ?? manifest.params.ef);

  const model = await loadModel(path.join(dir, 'model'), { device: opts.device ?? 'cpu' });
  if (model.modelVersion !== manifest.model.version || model.dim !== dim) {
    await model.close();
    throw new TwoTowerError('STORE', `${dir}/model: model ${model.modelVersion} (dim ${model.dim}) does not match the manifest`);
  }
  const candidates = new LmdbCandidateStore(path.join(dir, 'candidates.lmdb'));
  const users = new LmdbUserStore(path.join(dir, 'users.lmdb'));

  return {
    id,
    dir,
    manifest,
    itemIds,
    itemIndex,
    dim,
    embeddings,
    itemCategory: Int32Array.from(meta.category),
    categories: meta.categories,
    popularity,
    popular,
    hnsw,
    candidates,
    users,
    model,
    async close() {
      await Promise.all([candidates.close(), users.close(), model.close()]);
    },
  };
}
