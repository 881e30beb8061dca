/**
 * The nightly job: embed → index → per-user top-K → validate → publish.
 *
 * All work happens in STORE/tmp/<id>; only a build that passes its checks is fsynced, renamed into
 * STORE/versions/<id> and pointed to by CURRENT. A build that dies leaves CURRENT untouched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadModel } from '../models/model.js';
import type { UserQuery } from '../models/types.js';
import { TwoTowerError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/log.js';
import { LmdbCandidateWriter } from '../shared/candidates/lmdbCandidateStore.js';
import { LmdbUserWriter } from '../shared/candidates/lmdbUserStore.js';
import { writeFloat32File } from '../shared/store/binaryFiles.js';
import { acquireBuildLock } from '../shared/store/buildLock.js';
import type { CheckResult, IndexManifest } from '../shared/store/types.js';
import { flipCurrent, newVersionId, promote, tmpDir } from '../shared/store/versionStore.js';
import { check, countBadVectors, overlapRecall } from './checks.js';
import { embedInBatches } from './embedBatches.js';
import { ExactTopK } from './exactTopK.js';
import { buildHnsw, searchHnsw } from './hnswIndex.js';
import { readIndexerInputs } from './inputs.js';
import { computeUserTopK, type Retrieval } from './userTopK.js';

export interface BuildIndexOptions {
  data: string;
  model: string;
  store: string;
  topK?: number;
  batchSize?: number;
  M?: number;
  efConstruction?: number;
  ef?: number;
  retrieval?: Retrieval | 'auto';
  /** Minimum ANN recall@K against exact search on a user sample. */
  minRecall?: number;
  /** Minimum share of the catalog that appears in some user's candidates. */
  minCoverage?: number;
  recallSample?: number;
  device?: 'cpu' | 'cuda' | 'auto';
  /** Publish even when a check fails. */
  force?: boolean;
  /** Validate inputs and the model contract, build nothing. */
  dryRun?: boolean;
  logger?: Logger;
}

export interface BuildIndexResult {
  version: string;
  published: boolean;
  dir: string | null;
  manifest: IndexManifest | null;
}

/** Above this many multiply-adds, per-user top-K goes through HNSW instead of brute force. */
const EXACT_FLOP_BUDGET = 2e11;
/** How many histories items the user tower sees at most (the model truncates to its own limit). */
const HISTORY_FOR_TOWER = 200;

export async function buildIndex(opts: BuildIndexOptions): Promise<BuildIndexResult> {
  const log = opts.logger ?? createLogger();
  const topK = opts.topK ?? 100;
  const batchSize = opts.batchSize ?? 1024;
  const M = opts.M ?? 16;
  const efConstruction = opts.efConstruction ?? 100;
  const ef = Math.max(opts.ef ?? 100, topK);
  const timings: Record<string, number> = {};
  const timed = async <T>(stage: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    timings[stage] = Math.round(performance.now() - t0);
    log.event('stage', { stage, ms: timings[stage] });
    return r;
  };

  const inputs = await timed('read_inputs', () => readIndexerInputs(opts.data));
  const model = await timed('load_model', () => loadModel(opts.model, { device: opts.device ?? 'cpu' }));
  const id = newVersionId();
  if (opts.dryRun) {
    await model.close();
    log.event('dry_run_ok', { items: inputs.items.length, users: inputs.userIds.length, interactions: inputs.interactions, model: model.modelVersion });
    return { version: id, published: false, dir: null, manifest: null };
  }

  await fs.mkdir(opts.store, { recursive: true });
  const lock = await acquireBuildLock(opts.store);
  const build = path.join(tmpDir(opts.store), id);
  try {
    // Leftovers of builds that died: the lock guarantees no live build owns them.
    await fs.rm(tmpDir(opts.store), { recursive: true, force: true });
    await fs.mkdir(build, { recursive: true });
    await fs.cp(opts.model, path.join(build, 'model'), { recursive: true });

    const { items, userIds } = inputs;
    const dim = model.dim;
    const itemVectors = await timed('embed_items', () =>
      embedInBatches(items, dim, batchSize, (b) => model.embedItems(b), log.progress('embed items', items.length)),
    );
    const hnsw = await timed('hnsw_build', () =>
      buildHnsw(itemVectors, items.length, dim, { M, efConstruction, ef }, log.progress('hnsw build', items.length)),
    );
    await timed('write_items', async () => {
      await writeFloat32File(path.join(build, 'item_embeddings.f32'), itemVectors);
      await hnsw.writeIndex(path.join(build, 'hnsw.bin'));
      await fs.writeFile(path.join(build, 'item_ids.json'), JSON.stringify(items.map((i) => i.itemId)));
      const categories: string[] = [];
      const catIndex = new Map<string, number>();
      const category = items.map((it) => {
        if (it.category === null) return -1;
        let c = catIndex.get(it.category);
        if (c === undefined) {
          c = categories.push(it.category) - 1;
          catIndex.set(it.category, c);
        }
        return c;
      });
      await fs.writeFile(path.join(build, 'item_meta.json'), JSON.stringify({ categories, category }));
      await writeFloat32File(path.join(build, 'popularity.f32'), inputs.popularity);
      const order = Array.from(inputs.popularity.keys()).sort((a, b) => inputs.popularity[b] - inputs.popularity[a] || a - b);
      await fs.writeFile(path.join(build, 'popular.json'), JSON.stringify(order.slice(0, 1000)));
    });

    const empty = new Int32Array(0);
    const seen = userIds.map((u) => inputs.histories.get(u) ?? empty);
    const queries: UserQuery[] = userIds.map((u, i) => ({
      userId: u,
      user: inputs.usersById.get(u) ?? null,
      history: Array.from(seen[i].subarray(Math.max(0, seen[i].length - HISTORY_FOR_TOWER)), (x) => items[x].itemId),
    }));
    const userVectors = await timed('embed_users', () =>
      embedInBatches(queries, dim, batchSize, (b) => model.embedUsers(b), log.progress('embed users', queries.length)),
    );

    const retrieval: Retrieval =
      opts.retrieval && opts.retrieval !== 'auto' ? opts.retrieval : userIds.length * items.length * dim <= EXACT_FLOP_BUDGET ? 'exact' : 'hnsw';
    const exact = await ExactTopK.create(itemVectors, items.length, dim);
    const writer = new LmdbCandidateWriter(path.join(build, 'candidates.lmdb'));
    const covered = new Uint8Array(items.length);
    let usersWithCandidates = 0;
    await timed('user_topk', () =>
      computeUserTopK(
        retrieval === 'exact' ? { kind: 'exact', exact } : { kind: 'hnsw', hnsw },
        userVectors,
        dim,
        seen,
        topK,
        items.length,
        batchSize,
        async (u, c) => {
          if (c.items.length > 0) usersWithCandidates++;
          for (let i = 0; i < c.items.length; i++) covered[c.items[i]] = 1;
          await writer.put(userIds[u], c.items, c.scores);
        },
        log.progress(`user top-${topK} (${retrieval})`, userIds.length, 'users'),
      ),
    );
    await writer.close();

    await timed('write_users', async () => {
      const users = new LmdbUserWriter(path.join(build, 'users.lmdb'));
      for (const q of queries) await users.put(q.userId as string, { user: q.user, history: q.history });
      await users.close();
    });

    const checks = await timed('checks', async () => {
      const annRecall = await sampleAnnRecall(exact, hnsw, userVectors, userIds.length, dim, topK, opts.recallSample ?? 200);
      let coveredCount = 0;
      for (const c of covered) coveredCount += c;
      const list: CheckResult[] = [
        check(`ann_recall@${topK}`, annRecall, '>=', opts.minRecall ?? 0.95, `HNSW ef=${ef} against exact search on a user sample`),
        check('bad_item_vectors', countBadVectors(itemVectors, items.length, dim), '<=', 0, 'NaN/Inf or zero-norm item embeddings'),
        check('bad_user_vectors', countBadVectors(userVectors, userIds.length, dim), '<=', 0, 'NaN/Inf or zero-norm user embeddings'),
        check('users_with_candidates', userIds.length ? usersWithCandidates / userIds.length : 1, '>=', 0.99, 'share of known users with a non-empty list'),
        check('catalog_coverage', coveredCount / items.length, '>=', opts.minCoverage ?? 0.05, 'share of items in some candidate list'),
        check('items_indexed', hnsw.getCurrentCount(), '==', items.length, 'items in the HNSW index against the catalog'),
      ];
      return list;
    });
    await exact.close();
    await model.close();

    const manifest: IndexManifest = {
      format: 'twotower-index/1',
      version: id,
      createdAt: new Date().toISOString(),
      model: { version: model.modelVersion, dim, similarity: model.similarity, files: { ...model.fileHashes } },
      data: { dir: path.resolve(opts.data), files: inputs.files },
      params: { topK, M, efConstruction, ef, retrieval, batchSize },
      counts: { items: items.length, users: userIds.length, usersWithCandidates, interactions: inputs.interactions },
      timingsMs: timings,
      checks,
    };
    await fs.writeFile(path.join(build, 'manifest.json'), JSON.stringify(manifest, null, 2));

    const failed = checks.filter((c) => !c.passed);
    if (failed.length > 0 && !opts.force) {
      throw new TwoTowerError(
        'VALIDATION_FAILED',
        `refusing to publish ${id}: ${failed.map((c) => `${c.name}=${c.value} (needs ${c.op} ${c.threshold})`).join('; ')}`,
        { checks: failed },
      );
    }
    const t0 = performance.now();
    const dir = await promote(opts.store, build, id);
    await flipCurrent(opts.store, id);
    timings.publish = Math.round(performance.now() - t0);
    log.event('published', { version: id, checksFailed: failed.length });
    return { version: id, published: true, dir, manifest };
  } finally {
    await fs.rm(build, { recursive: true, force: true });
    await lock.release();
  }
}

async function sampleAnnRecall(
  exact: ExactTopK,
  hnsw: ReturnType<typeof buildHnsw>,
  userVectors: Float32Array,
  users: number,
  dim: number,
  k: number,
  sample: number,
): Promise<number> {
  const n = Math.min(sample, users);
  if (n === 0) return 1;
  // An evenly spaced sample: deterministic, and spread over the whole user table.
  const step = users / n;
  const picked = new Float32Array(n * dim);
  for (let s = 0; s < n; s++) picked.set(userVectors.subarray(Math.floor(s * step) * dim, (Math.floor(s * step) + 1) * dim), s * dim);
  const ex = await exact.search(picked, n, k);
  let sum = 0;
  for (let s = 0; s < n; s++) {
    const approx = searchHnsw(hnsw, picked.subarray(s * dim, (s + 1) * dim), ex.k);
    sum += overlapRecall(ex.indices.subarray(s * ex.k, (s + 1) * ex.k), approx.items);
  }
  return sum / n;
}
