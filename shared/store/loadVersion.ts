/**
 * Loads a published version into memory for the ranker and the evaluator.
 *
 * First the version's files are verified against checksums.json (checksums.ts): hnswlib and LMDB
 * crash the process on damaged files instead of reporting them, so nothing is handed to them
 * unverified. Then every file is checked against the manifest (counts, dimensions, id uniqueness,
 * index ranges) so that a version built wrong is refused at load with a message naming the file,
 * instead of serving wrong answers later. Messages name files relative to the store
 * (versions/<id>/...): they reach logs and the admin route, neither of which needs the host's
 * folder layout.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { TwoTowerError } from '../errors.js';
import { loadModelInWorker } from '../../models/workerModel.js';
import { openIndexInWorker } from './indexThread.js';
import { LmdbCandidateStore } from '../candidates/lmdbCandidateStore.js';
import { LmdbUserStore } from '../candidates/lmdbUserStore.js';
import { allocateEmbeddingMemory } from '../kernels/embeddingMemory.js';
import { readFloat32File, readJsonFile } from './binaryFiles.js';
import { verifyChecksums } from './checksums.js';
import type { IndexManifest, LoadedVersion } from './types.js';
import { readCurrent, versionDir, versionsDir } from './versionStore.js';

export { readCurrent } from './versionStore.js';

export interface LoadVersionOptions {
  /** HNSW query-time ef; defaults to the value the version was built and validated with. */
  ef?: number;
  device?: 'cpu' | 'cuda' | 'auto';
  /**
   * Threads per onnxruntime session of the model (default 1, as in the scoring worker). A loaded
   * version shares the machine with the HTTP thread that serves it: onnxruntime's default, a
   * pool of one thread per core that spins while waiting for work, took that thread's cores
   * during a hot swap. The soak swap test (10 swaps at 300 req/s, 2 cores) had p99 during swaps
   * 26.0-40.6 ms with the default and 15.8-19.6 ms with 1 (three runs each).
   */
  intraOpThreads?: number;
  /**
   * Hears of the version's model or index thread stopping other than by close(): its calls then
   * fail (a live retrieval answers from popularity, degraded) until another version loads.
   */
  onThreadDeath?: (thread: 'model' | 'index', err: Error) => void;
}

export async function loadVersion(store: string, versionId?: string, opts: LoadVersionOptions = {}): Promise<LoadedVersion> {
  // An id given (even '') is checked as given; only an absent one means "what CURRENT names".
  const id = versionId !== undefined ? versionId : await readCurrent(store);
  if (id === null) throw new TwoTowerError('STORE', `no published version in ${store} (CURRENT is missing)`);
  const dir = versionDir(store, id); // refuses an id that is not a plain version id
  const label = `versions/${id}`;
  const at = (file: string) => `${label}/${file}`;
  await assertPlainFolder(store, dir, label);
  await verifyChecksums(dir, label);

  const manifest = await readStoreJson<IndexManifest>(dir, 'manifest.json', label);
  if (!manifest || manifest.format !== 'twotower-index/1' || manifest.version !== id) {
    throw new TwoTowerError('STORE', `${at('manifest.json')}: not a manifest of version ${id}`);
  }
  const dim = manifest.model?.dim;
  const n = manifest.counts?.items;
  if (!isCount(dim) || dim === 0) throw new TwoTowerError('STORE', `${at('manifest.json')}: model.dim must be a positive integer, got ${String(dim)}`);
  if (!isCount(n) || n === 0) throw new TwoTowerError('STORE', `${at('manifest.json')}: counts.items must be a positive integer, got ${String(n)}`);

  const itemIds = await readStoreJson<string[]>(dir, 'item_ids.json', label);
  if (!Array.isArray(itemIds) || itemIds.length !== n) {
    throw new TwoTowerError('STORE', `${at('item_ids.json')}: expected ${n} item ids`);
  }
  const itemIndex = await indexItemIds(itemIds, at('item_ids.json'));

  // Shared memory, read by the scoring worker in place; a WebAssembly memory where it fits, which
  // the SIMD session kernel reads too.
  let embeddingMemory: WebAssembly.Memory | null = null;
  const embeddings = await readFloat32File(path.join(dir, 'item_embeddings.f32'), n * dim, at('item_embeddings.f32'), {
    into: (byteLength) => {
      embeddingMemory = allocateEmbeddingMemory(byteLength);
      return new Uint8Array(embeddingMemory ? embeddingMemory.buffer : new SharedArrayBuffer(byteLength), 0, byteLength);
    },
  });
  const popularity = await readFloat32File(path.join(dir, 'popularity.f32'), n, at('popularity.f32'));
  const meta = await readStoreJson<{ categories: string[]; category: number[] }>(dir, 'item_meta.json', label);
  if (!meta || !Array.isArray(meta.categories) || !Array.isArray(meta.category) || meta.category.length !== n) {
    throw new TwoTowerError('STORE', `${at('item_meta.json')}: expected a category for each of ${n} items`);
  }
  const itemCategory = Int32Array.from(meta.category);
  const badCategory = meta.category.findIndex((c) => !Number.isInteger(c) || c < -1 || c >= meta.categories.length);
  if (badCategory >= 0) {
    throw new TwoTowerError('STORE', `${at('item_meta.json')}: category of item ${badCategory} is ${String(meta.category[badCategory])}, not -1 or an index into ${meta.categories.length} categories`);
  }
  const popularList = await readStoreJson<number[]>(dir, 'popular.json', label);
  if (!Array.isArray(popularList)) throw new TwoTowerError('STORE', `${at('popular.json')}: expected an array of item indices`);
  const badPopular = popularList.findIndex((i) => !Number.isInteger(i) || i < 0 || i >= n);
  if (badPopular >= 0) throw new TwoTowerError('STORE', `${at('popular.json')}: entry ${badPopular} is ${String(popularList[badPopular])}, not an item index below ${n}`);
  const popular = Int32Array.from(popularList);

  // The index and the model each load in a thread of their own, side by side: a search, and the
  // creation of onnxruntime sessions, hold the thread they run on, which for the ranker is the
  // one answering requests while a new version loads (indexThread.ts, workerModel.ts).
  const [index, model] = await allOrNone([
    openIndexInWorker({ file: path.join(dir, 'hnsw.bin'), name: at('hnsw.bin'), dim, items: n, ef: opts.ef ?? manifest.params?.ef ?? 100 }, (err) =>
      opts.onThreadDeath?.('index', err),
    ),
    loadModelInWorker(path.join(dir, 'model'), { device: opts.device ?? 'cpu', intraOpThreads: opts.intraOpThreads ?? 1 }, (err) =>
      opts.onThreadDeath?.('model', err),
    ),
  ] as const);
  // Nothing else owns the threads yet: a refused version must not leave them running.
  const closeThreads = () => Promise.all([index.close(), model.close()].map((p) => p.catch(() => undefined)));
  if (model.modelVersion !== manifest.model.version || model.dim !== dim) {
    await closeThreads();
    throw new TwoTowerError('STORE', `${label}/model: model ${model.modelVersion} (dim ${model.dim}) does not match the manifest (model ${manifest.model.version}, dim ${dim})`);
  }
  let candidates: LmdbCandidateStore | undefined;
  let users: LmdbUserStore | undefined;
  try {
    candidates = new LmdbCandidateStore(path.join(dir, 'candidates.lmdb'));
    users = new LmdbUserStore(path.join(dir, 'users.lmdb'));
  } catch (err) {
    await Promise.all([candidates?.close().catch(() => undefined), closeThreads()]);
    throw new TwoTowerError('STORE', `${label}: cannot open the LMDB stores (${(err as Error).message})`);
  }
  const openCandidates = candidates;
  const openUsers = users;
  const cleanups: Array<() => Promise<void>> = [];

  return {
    id,
    dir,
    manifest,
    itemIds,
    itemIndex,
    dim,
    embeddings,
    embeddingMemory,
    itemCategory,
    categories: meta.categories,
    popularity,
    popular,
    index,
    candidates: openCandidates,
    users: openUsers,
    model,
    onClose(cleanup) {
      cleanups.push(cleanup);
    },
    async close() {
      // What was attached may still be using the handles below (a worker mid-batch), so it goes
      // first; its failure is reported after the version's own handles are closed all the same.
      const attached = await Promise.allSettled(cleanups.splice(0).map((c) => c()));
      await Promise.all([openCandidates.close(), openUsers.close(), model.close(), index.close()]);
      const failed = attached.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

/**
 * Every promise's value, or the first rejection in list order once all have settled, after
 * closing what the others opened.
 */
async function allOrNone<T extends readonly Promise<{ close(): Promise<void> }>[]>(opening: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(opening);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
  await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.close().catch(() => undefined) : undefined)));
  throw failed.reason;
}

/** Entries indexed between turns of the event loop (about 1-2 ms of work each). */
const INDEX_SLICE = 8192;

/**
 * Item id → index, refusing empty and repeated ids. Built a slice at a time, yielding between
 * slices: the ranker loads a new version while it serves, and the 100k ids of the bench version
 * took 12-18 ms in one piece, time every request arriving meanwhile would wait.
 */
async function indexItemIds(itemIds: readonly unknown[], file: string): Promise<Map<string, number>> {
  const itemIndex = new Map<string, number>();
  for (let i = 0; i < itemIds.length; i++) {
    if (i > 0 && i % INDEX_SLICE === 0) await yieldToEventLoop();
    const itemId = itemIds[i];
    if (typeof itemId !== 'string' || itemId === '') throw new TwoTowerError('STORE', `${file}: entry ${i} is not a non-empty string`);
    const first = itemIndex.get(itemId);
    // A duplicate would make one of the two items unreachable by id and the other appear twice.
    if (first !== undefined) throw new TwoTowerError('STORE', `${file}: item id '${itemId}' appears twice (entries ${first} and ${i})`);
    itemIndex.set(itemId, i);
  }
  return itemIndex;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

async function readStoreJson<T>(dir: string, file: string, label: string): Promise<T> {
  try {
    return await readJsonFile<T>(path.join(dir, file));
  } catch (err) {
    // readJsonFile names the absolute path; the store-relative name says the same to a reader.
    throw new TwoTowerError('STORE', (err as Error).message.split(path.join(dir, file)).join(`${label}/${file}`));
  }
}

/**
 * The version folder must be a real folder directly under versions/: a symbolic link there would
 * serve files from outside the store, which the build never wrote and nothing keeps immutable.
 */
async function assertPlainFolder(store: string, dir: string, label: string): Promise<void> {
  let st;
  try {
    st = await fs.lstat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TwoTowerError('STORE', code === 'ENOENT' ? `${label}: no such version in the store` : `${label}: cannot read (${code ?? 'error'})`);
  }
  if (st.isSymbolicLink()) throw new TwoTowerError('STORE', `${label}: is a symbolic link; a version must be a folder inside the store`);
  if (!st.isDirectory()) throw new TwoTowerError('STORE', `${label}: is not a folder`);
  const real = await fs.realpath(dir);
  const root = await fs.realpath(versionsDir(store));
  if (path.dirname(real) !== root) throw new TwoTowerError('STORE', `${label}: resolves outside the store's versions folder`);
}
