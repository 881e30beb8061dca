/**
 * The benchmark's published version: a synthetic 100k-item, 100k-user world, a starter model and
 * an index with 200 candidates per user. Building it takes minutes, so it is cached under
 * .twotower/bench-ranker/ and rebuilt only when its parameters change (or on --rebuild).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildIndex } from '../indexer/buildIndex.js';
import { trainModel } from '../models/train/trainModel.js';
import { generateWorld, writeWorld } from '../shared/data/generate.js';
import { createLogger } from '../shared/log.js';
import { readCurrent, versionDir } from '../shared/store/versionStore.js';

export interface BenchVersionParams {
  items: number;
  users: number;
  topK: number;
  seed: number;
  interactionsPerUser: number;
  /** Interactions the starter model trains on: a sample keeps training to a minute or two. */
  trainInteractions: number;
  epochs: number;
}

export interface BenchVersion {
  store: string;
  versionId: string;
  /** Users with a precomputed list (the static path's traffic). */
  userIds: string[];
  itemIds: string[];
  buildSeconds: number | null;
}

interface CacheMeta {
  params: BenchVersionParams;
  versionId: string;
  userIds: string[];
  buildSeconds: number;
}

/** How many user ids the load generator draws from. */
const USER_SAMPLE = 20_000;

export async function ensureBenchVersion(dir: string, params: BenchVersionParams, rebuild: boolean): Promise<BenchVersion> {
  const store = path.join(dir, 'store');
  const metaFile = path.join(dir, 'meta.json');
  if (!rebuild) {
    const meta = await readMeta(metaFile);
    if (meta && JSON.stringify(meta.params) === JSON.stringify(params) && (await readCurrent(store)) === meta.versionId) {
      return { store, versionId: meta.versionId, userIds: meta.userIds, itemIds: await readItemIds(store, meta.versionId), buildSeconds: null };
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const t0 = performance.now();
  const say = (s: string) => process.stderr.write(`[bench build ${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);

  say(`generating ${params.items} items, ${params.users} users`);
  const world = generateWorld({ items: params.items, users: params.users, seed: params.seed, interactionsPerUser: params.interactionsPerUser });
  const data = path.join(dir, 'data');
  await writeWorld(data, world);

  // Whole users, so that each trained history is real; every item and user stays in the
  // vocabularies, since those come from the tables, not from the sample.
  const sample = [];
  for (const r of world.interactions) {
    if (sample.length >= params.trainInteractions && r.userId !== sample[sample.length - 1].userId) break;
    sample.push(r);
  }
  say(`training the starter model on ${sample.length} of ${world.interactions.length} interactions`);
  const model = path.join(dir, 'model');
  await trainModel({ items: world.items, users: world.users, interactions: sample }, model, {
    epochs: params.epochs,
    seed: params.seed,
    log: (line) => say(line),
  });

  const withHistory = [...new Set(world.interactions.map((r) => r.userId))];
  const userIds = spread(withHistory, USER_SAMPLE);
  world.interactions.length = 0; // the indexer reads the tables from disk; free the heap first
  say(`indexing with top-${params.topK}`);
  // force: a briefly trained model may miss a quality threshold; the benchmark measures
  // serving speed, and the checks are reported in the manifest either way.
  const built = await buildIndex({ data, model, store, topK: params.topK, force: true, logger: createLogger({ json: true }) });
  const buildSeconds = Math.round((performance.now() - t0) / 1000);
  const failed = built.manifest?.checks.filter((c) => !c.passed).map((c) => `${c.name}=${c.value.toFixed(3)}`) ?? [];
  say(`published ${built.version} in ${buildSeconds}s${failed.length ? `; checks below threshold: ${failed.join(', ')}` : ''}`);
  const meta: CacheMeta = { params, versionId: built.version, userIds, buildSeconds };
  await fs.writeFile(metaFile, JSON.stringify(meta));
  return { store, versionId: built.version, userIds, itemIds: await readItemIds(store, built.version), buildSeconds };
}

async function readMeta(file: string): Promise<CacheMeta | null> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as CacheMeta;
  } catch {
    return null;
  }
}

async function readItemIds(store: string, id: string): Promise<string[]> {
  return JSON.parse(await fs.readFile(path.join(versionDir(store, id), 'item_ids.json'), 'utf8')) as string[];
}

/** n values evenly spaced over xs. */
function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  const step = xs.length / n;
  return Array.from({ length: n }, (_, i) => xs[Math.floor(i * step)]);
}
