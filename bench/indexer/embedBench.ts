/**
 * Embedding throughput: rows/s through the indexer's pipeline (read the file batch by batch,
 * encode, run the tower, write into the matrix) against raw session.run on the same batches
 * already encoded, for several batch sizes and onnxruntime thread counts. The pipeline runs its
 * towers on the main thread or in the build's tower worker (TowerRunner, started beforehand as the
 * build starts it once for both towers; its start time is reported on its own).
 */
import * as ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { embedCatalog, embedUsers, historyWindow, recentHistoryIds } from '../../indexer/embedTables.js';
import { TowerRunner } from '../../indexer/towerRunner.js';
import type { IndexerInputs } from '../../indexer/inputs.js';
import { encodeItems, encodeUsers, toOrtFeeds } from '../../models/features.js';
import { readModelManifest } from '../../models/manifest.js';
import { loadModel } from '../../models/model.js';
import type { UserQuery } from '../../models/types.js';
import { readVocabularies } from '../../models/vocab.js';
import { loadItems, loadUsers } from '../../shared/data/readers.js';

export interface EmbedRow {
  tower: 'item' | 'user';
  batch: number;
  threads: number;
  /** Where the pipeline runs the towers. */
  runsOn: 'main thread' | 'tower worker';
  pipelineRowsS: number;
  rawRowsS: number;
  /** CPU µs per row, all threads: robust where other work shares the machine. */
  pipelineCpuUs: number;
  rawCpuUs: number;
}

export interface EmbedBench {
  rows: EmbedRow[];
  /** Tower worker start (thread, session loads) per onnxruntime thread count, ms. */
  workerStartMs: Record<number, number>;
}

export async function benchEmbedding(inputs: IndexerInputs, modelDir: string, batches: number[], threadCounts: number[], runs: number): Promise<EmbedBench> {
  const manifest = await readModelManifest(modelDir);
  const vocabs = await readVocabularies(modelDir, manifest);
  const items = await loadItems(inputs.itemsFile);
  const userRows = inputs.usersFile ? await loadUsers(inputs.usersFile) : [];
  const queries: UserQuery[] = inputs.users.ids.map((id, u) => ({ userId: id, user: userRows[u] ?? null, history: recentHistoryIds(inputs, u, historyWindow(manifest.userTower)) }));
  const out: EmbedRow[] = [];
  const workerStartMs: Record<number, number> = {};
  for (const threads of threadCounts) {
    const model = await loadModel(modelDir, { intraOpThreads: threads });
    const t0 = performance.now();
    const runner = await TowerRunner.start(model, threads);
    workerStartMs[threads] = Math.round(performance.now() - t0);
    const sessionOf = async (file: string) =>
      ort.InferenceSession.create(await readFile(path.join(modelDir, file)), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
    const itemSession = await sessionOf(manifest.itemTower.file);
    const userSession = await sessionOf(manifest.userTower.file);
    for (const batch of batches) {
      const rawItems = await repeat(runs, () => rawRate(itemSession, items.length, batch, (s, e) => encodeItems(manifest.itemTower, vocabs, items.slice(s, e))));
      const rawUsers = await repeat(runs, () => rawRate(userSession, queries.length, batch, (s, e) => encodeUsers(manifest.userTower, vocabs, queries.slice(s, e))));
      for (const [runsOn, executor] of [['main thread', undefined], ['tower worker', runner]] as const) {
        const pipe = await repeat(runs, () => measure(items.length, () => embedCatalog(inputs, model, batch, undefined, executor)));
        out.push(row('item', batch, threads, runsOn, pipe, rawItems));
        const pipeUsers = await repeat(runs, () => measure(queries.length, () => embedUsers(inputs, model, batch, undefined, undefined, executor)));
        out.push(row('user', batch, threads, runsOn, pipeUsers, rawUsers));
      }
    }
    await Promise.all([runner.close(), model.close(), itemSession.release(), userSession.release()]);
  }
  return { rows: out, workerStartMs };
}

interface Measured {
  rowsS: number;
  cpuUs: number;
}

function row(tower: 'item' | 'user', batch: number, threads: number, runsOn: EmbedRow['runsOn'], pipe: Measured[], raw: Measured[]): EmbedRow {
  return {
    tower,
    batch,
    threads,
    runsOn,
    pipelineRowsS: Math.round(median(pipe.map((m) => m.rowsS))),
    rawRowsS: Math.round(median(raw.map((m) => m.rowsS))),
    pipelineCpuUs: +median(pipe.map((m) => m.cpuUs)).toFixed(2),
    rawCpuUs: +median(raw.map((m) => m.cpuUs)).toFixed(2),
  };
}

/** Rows/s and CPU per row of `fn` over `rows` rows. */
async function measure(rows: number, fn: () => Promise<unknown>): Promise<Measured> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return { rowsS: (rows * 1000) / (performance.now() - t0), cpuUs: (c.user + c.system) / rows };
}

/** session.run alone: every batch is encoded first, and only the runs are measured. */
async function rawRate(session: ort.InferenceSession, rows: number, batch: number, encode: (s: number, e: number) => ReturnType<typeof encodeItems>): Promise<Measured> {
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let s = 0; s < rows; s += batch) feeds.push(toOrtFeeds(encode(s, Math.min(rows, s + batch))));
  return measure(rows, async () => {
    for (const f of feeds) await session.run(f);
  });
}

async function repeat<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
