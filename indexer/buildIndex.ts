/**
 * The nightly job: embed → index → per-user top-K → validate → publish.
 *
 * All work happens in STORE/tmp/<id> under the build lock; only a build that passes its checks is
 * fsynced, renamed into STORE/versions/<id> and pointed to by CURRENT (publishVersion). A build
 * that dies at any moment leaves CURRENT and every published version untouched; its leftovers are
 * removed by the next build (or gc) once it holds the lock.
 *
 * The two cores: the HNSW build runs in a worker thread while the main thread embeds the users and
 * writes the users store; HNSW queries then run in one worker per core while the main thread writes
 * candidate lists; exact search and the towers use onnxruntime's intra-op threads.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../models/model.js';
import type { UserQuery } from '../models/types.js';
import { LmdbCandidateWriter } from '../shared/candidates/lmdbCandidateStore.js';
import { LmdbUserWriter } from '../shared/candidates/lmdbUserStore.js';
import { TwoTowerError, storageErrorOf } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/log.js';
import { acquireBuildLock, LOCK_FILE, liveLockOwner } from '../shared/store/buildLock.js';
import { crashPoint } from '../shared/store/crashPoint.js';
import { cleanLeftovers } from '../shared/store/leftovers.js';
import type { CheckResult, IndexManifest } from '../shared/store/types.js';
import { newVersionId, publishVersion, tmpDir } from '../shared/store/versionStore.js';
import { check, countBadVectors, distinctShare, evenSample } from './checks.js';
import { DEFAULTS } from './defaults.js';
import { dryRunInputs } from './dryRun.js';
import { embedCatalog, embedUsers } from './embedTables.js';
import { inThisThread, TowerRunner, type TowerExecutor } from './towerRunner.js';
import { ExactTopK } from './exactTopK.js';
import { buildHnswFiles, type HnswFiles } from './hnswBuild.js';
import { queryHnswInWorkers, type CandidateChunk } from './hnswQuery.js';
import { readIndexerInputs } from './inputs.js';
import { recallOnSample, SampleRecorder } from './recallSample.js';
import { planRetrieval } from './retrievalPlan.js';
import { StageTimer } from './stageTimer.js';
import { exactUserTopK, type Retrieval } from './userTopK.js';
import { writeItemFiles } from './writeItemFiles.js';

export interface BuildIndexOptions {
  data: string;
  model: string;
  store: string;
  topK?: number;
  /** Rows per tower call and users per exact-search call. */
  batchSize?: number;
  M?: number;
  efConstruction?: number;
  ef?: number;
  retrieval?: Retrieval | 'auto';
  /** Threads for HNSW queries and onnxruntime (default: the machine's cores). */
  threads?: number;
  /** Minimum ANN recall@K against exact search on a user sample. */
  minRecall?: number;
  /** Minimum share of the catalog that appears in some user's candidates. */
  minCoverage?: number;
  /** Minimum share of distinct item vectors (a collapsed tower gives the same vector for all). */
  minDistinctItems?: number;
  recallSample?: number;
  device?: 'cpu' | 'cuda' | 'auto';
  /** Run the towers in a worker thread (TowerRunner); default: with 2+ threads from TOWER_WORKER_MIN_ROWS items plus users. */
  towerWorker?: boolean;
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
  /** What a dry run found (counts), when it was one. */
  dryRun?: { items: number; users: number; interactions: number; model: string };
}

export { DEFAULTS } from './defaults.js';

/**
 * From this many items plus users the towers run in a worker thread while this thread encodes the
 * next batch (TowerRunner); below it the worker's start and session load (about 0.1-0.3 s) cost
 * more than the overlap saves.
 */
const TOWER_WORKER_MIN_ROWS = 50_000;

export async function buildIndex(opts: BuildIndexOptions): Promise<BuildIndexResult> {
  const log = opts.logger ?? createLogger();
  const topK = opts.topK ?? DEFAULTS.topK;
  const batchSize = opts.batchSize ?? DEFAULTS.batchSize;
  const M = opts.M ?? DEFAULTS.M;
  const efConstruction = opts.efConstruction ?? DEFAULTS.efConstruction;
  const ef = Math.max(opts.ef ?? DEFAULTS.ef, topK);
  const threads = Math.max(1, opts.threads ?? os.availableParallelism());
  const minRecall = opts.minRecall ?? DEFAULTS.minRecall;
  const minCoverage = opts.minCoverage ?? DEFAULTS.minCoverage;
  const minDistinct = opts.minDistinctItems ?? DEFAULTS.minDistinctItems;
  const recallSample = opts.recallSample ?? DEFAULTS.recallSample;
  const device = opts.device ?? 'cpu';
  for (const [name, v] of Object.entries({ topK, batchSize, M, efConstruction })) {
    if (!Number.isInteger(v) || v < 1) throw new TwoTowerError('BAD_INPUT', `${name} must be a positive integer, got ${v}`);
  }
  const startedAt = new Date();
  const timer = new StageTimer(log);
  if (!opts.dryRun) {
    // Fail before a minute of reading when another build runs; the lock itself is taken once the
    // inputs are known to be good, so bad inputs never touch the store.
    const owner = await liveLockOwner(opts.store);
    if (owner) throw new TwoTowerError('STORE', `another build (pid ${owner.pid}) holds ${path.join(opts.store, LOCK_FILE)} since ${owner.startedAt}`, { pid: owner.pid });
  }

  const inputs = await timer.stage('read_inputs', () => {
    const p = log.progress('read interactions', 0, 'rows');
    return readIndexerInputs(opts.data, { onInteractions: (n) => p.tick(n) }).finally(() => p.end());
  });
  log.event('inputs', { items: inputs.items.size, users: inputs.users.size, interactions: inputs.interactions });
  // One onnxruntime thread for the towers: they are small, and a second intra-op thread spins on
  // the core that the HNSW build needs while users are embedded (bench: twice the CPU per row for
  // no gain in wall time). Exact search, a large MatMul, gets every thread.
  const model = await timer.stage('load_model', () => loadModel(opts.model, { device, intraOpThreads: 1 }));
  const id = newVersionId(startedAt);
  if (opts.dryRun) {
    try {
      await timer.stage('dry_run', () => dryRunInputs(inputs, model, batchSize));
    } finally {
      await model.close();
    }
    const summary = { items: inputs.items.size, users: inputs.users.size, interactions: inputs.interactions, model: model.modelVersion };
    log.event('dry_run_ok', summary);
    return { version: id, published: false, dir: null, manifest: null, dryRun: summary };
  }

  await fs.mkdir(opts.store, { recursive: true });
  const lock = await acquireBuildLock(opts.store);
  const build = path.join(tmpDir(opts.store), id);
  const abort = new AbortController();
  let hnswBuild: Promise<HnswFiles> | null = null;
  let towers: TowerExecutor | null = null;
  try {
    const cleaned = await cleanLeftovers(opts.store);
    if (cleaned.length) log.event('cleaned_leftovers', { paths: cleaned });
    await fs.mkdir(build, { recursive: true });
    await fs.cp(opts.model, path.join(build, 'model'), { recursive: true });

    const nItems = inputs.items.size;
    const nUsers = inputs.users.size;
    const dim = model.dim;
    const checks: CheckResult[] = [];
    const gate = (list: CheckResult[]) => {
      checks.push(...list);
      const failed = list.filter((c) => !c.passed);
      // Fail fast: a broken tower is refused before minutes of HNSW work on garbage vectors.
      if (failed.length && !opts.force) {
        const all = checks.filter((c) => !c.passed);
        log.event('checks', { passed: checks.length - all.length, failed: all.map((c) => c.name), checks, published: false });
        throw validationError(id, failed);
      }
    };

    const runner = opts.towerWorker ?? (threads > 1 && nItems + nUsers >= TOWER_WORKER_MIN_ROWS);
    // The item tower runs alone (bench: 2 onnxruntime threads kept 85-87% of the best raw rate
    // against 78-80% with one); the user tower overlaps the HNSW build, which needs the other core.
    const towerThreads = { item: Math.min(threads, 2), user: 1 };
    towers = runner ? await timer.stage('start_tower_worker', () => TowerRunner.start(model, towerThreads)) : inThisThread(model);
    const items = await timer.stage('embed_items', () => embedCatalog(inputs, model, batchSize, log.progress('embed items', nItems), towers as TowerExecutor));
    crashPoint('embed_items');
    gate([
      check('bad_item_vectors', countBadVectors(items.vectors, nItems, dim), '<=', 0, 'NaN/Inf or zero-norm item embeddings'),
      check('item_vectors_distinct', distinctShare(items.vectors, nItems, dim), '>=', minDistinct, 'share of distinct vectors among up to 10k sampled items'),
    ]);

    // The build runs in a worker while this thread embeds the users and writes the other files.
    const hnswParams = { M, efConstruction, ef };
    hnswBuild = timer.stage('hnsw_build', () => buildHnswFiles(items.vectors, nItems, dim, hnswParams, build, 1, log.progress('hnsw build', nItems, 'items'), abort.signal));
    hnswBuild.catch(() => undefined); // awaited below; a failure must not surface as unhandled first

    await timer.stage('write_items', () => writeItemFiles(build, inputs, items));
    const usersDb = new LmdbUserWriter(path.join(build, 'users.lmdb'));
    const userVectors = await timer.stage('embed_users', () =>
      embedUsers(
        inputs,
        model,
        batchSize,
        async (_start, queries: UserQuery[]) => {
          for (const q of queries) await usersDb.put(q.userId as string, { user: q.user, history: q.history });
        },
        log.progress('embed users', nUsers),
        towers as TowerExecutor,
      ),
    );
    await towers.close();
    await usersDb.close();
    crashPoint('embed_users');
    gate([check('bad_user_vectors', countBadVectors(userVectors, nUsers, dim), '<=', 0, 'NaN/Inf or zero-norm user embeddings')]);

    const plan = planRetrieval(nUsers, nItems, dim, threads, opts.retrieval);
    log.event('retrieval', { ...plan });
    const exact = await ExactTopK.create(items.vectors, nItems, dim, threads);
    const { files, indexed, cpuMs: buildCpuMs } = await hnswBuild;
    log.event('hnsw_built', { files: files.length, indexed, threadCpuMs: buildCpuMs });
    crashPoint('hnsw_build');

    const writer = new LmdbCandidateWriter(path.join(build, 'candidates.lmdb'));
    const covered = new Uint8Array(nItems);
    const sample = new SampleRecorder(evenSample(nUsers, recallSample), topK);
    let usersWithCandidates = 0;
    let usersEligible = 0;
    let lists = 0;
    const emit = async (c: CandidateChunk) => {
      for (let b = 0; b < c.count; b++) {
        const u = c.start + b;
        const n = c.lens[b];
        const its = c.items.subarray(b * c.k, b * c.k + n);
        if (n > 0) usersWithCandidates++;
        // A user who has seen the whole catalog has nothing left to recommend.
        if (inputs.histories.offsets[u + 1] - inputs.histories.offsets[u] < nItems) usersEligible++;
        for (let i = 0; i < n; i++) covered[its[i]] = 1;
        sample.offer(u, its);
        await writer.put(inputs.users.ids[u], its, c.scores.subarray(b * c.k, b * c.k + n));
        lists++;
      }
    };
    const progress = log.progress(`user top-${topK} (${plan.retrieval})`, nUsers, 'users');
    const queryCpuMs = await timer.stage('user_topk', async () =>
      plan.retrieval === 'exact'
        ? (await exactUserTopK(exact, userVectors, inputs.histories, topK, batchSize, emit, progress), -1)
        : (await queryHnswInWorkers({ files, dim, ef, k: topK, itemCount: nItems, threads }, userVectors, inputs.histories, emit, progress)).cpuMs,
    );
    await writer.close();
    if (queryCpuMs >= 0) log.event('user_topk_done', { threads, threadCpuMs: queryCpuMs });
    crashPoint('user_topk');

    await timer.stage('checks', async () => {
      const recall = await recallOnSample(plan.retrieval, sample, exact, files, userVectors, inputs.histories, topK, ef);
      let coveredCount = 0;
      for (let i = 0; i < nItems; i++) coveredCount += covered[i];
      gate([
        check(`ann_recall@${topK}`, recall.value, '>=', minRecall, recall.detail),
        check('users_with_candidates', usersEligible ? usersWithCandidates / usersEligible : 1, '>=', 1, 'share of known users (who have not seen every item) with a non-empty list'),
        check('catalog_coverage', coveredCount / nItems, '>=', minCoverage, 'share of items in some candidate list'),
        check('candidate_lists', lists, '==', nUsers, 'lists written against known users (users table plus interactions)'),
        check('items_indexed', indexed, '==', nItems, 'items in the HNSW index against catalog rows'),
      ]);
    });
    await exact.close();
    await model.close();

    const manifest: IndexManifest = {
      format: 'twotower-index/1',
      version: id,
      createdAt: new Date().toISOString(),
      model: { version: model.modelVersion, dim, similarity: model.similarity, files: { ...model.fileHashes } },
      data: { dir: path.resolve(opts.data), files: inputs.files },
      params: {
        topK,
        M,
        efConstruction,
        ef,
        retrieval: plan.retrieval,
        batchSize,
        threads,
        device,
        deviceUsed: model.device,
        hnswShards: files.length,
        minRecall,
        minCoverage,
        minDistinctItems: minDistinct,
        recallSample,
        force: opts.force === true,
        retrievalEstimateS: { exact: plan.exactS, hnsw: plan.hnswS, forced: plan.forced },
      },
      counts: { items: nItems, users: nUsers, usersWithCandidates, interactions: inputs.interactions },
      timingsMs: { ...timer.timings, total: Math.round(performance.now() - timer.origin) },
      cpuMs: { ...timer.cpu, hnsw_build_threads: buildCpuMs, ...(queryCpuMs >= 0 ? { user_topk_threads: queryCpuMs } : {}) },
      checks,
      build: {
        host: os.hostname(),
        node: process.version,
        cpus: os.availableParallelism(),
        startedAt: startedAt.toISOString(),
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
        cleaned,
      },
    };
    const failed = checks.filter((c) => !c.passed);
    log.event('checks', { passed: checks.length - failed.length, failed: failed.map((c) => c.name), checks });
    await fs.writeFile(path.join(build, 'manifest.json'), JSON.stringify(manifest, null, 2));
    crashPoint('manifest');

    const t0 = performance.now();
    const dir = await publishVersion(opts.store, build, id);
    // After the manifest was written, so only in the log: the version folder is immutable now.
    log.event('published', {
      version: id,
      checksFailed: failed.length,
      forced: failed.length > 0,
      publishMs: Math.round(performance.now() - t0),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      timingsMs: manifest.timingsMs,
    });
    return { version: id, published: true, dir, manifest };
  } catch (err) {
    // A full disk (or another storage failure) in a write that named no file: name the build folder.
    throw storageErrorOf(err, build) ?? err;
  } finally {
    abort.abort();
    await towers?.close();
    if (hnswBuild) await hnswBuild.catch(() => undefined);
    await fs.rm(build, { recursive: true, force: true });
    await lock.release();
  }
}

function validationError(id: string, failed: CheckResult[]): TwoTowerError {
  return new TwoTowerError(
    'VALIDATION_FAILED',
    `refusing to publish ${id}: ${failed.map((c) => `${c.name}=${c.value} (needs ${c.op} ${c.threshold})`).join('; ')}`,
    { checks: failed },
  );
}
