/**
 * Embedding throughput: rows/s through the indexer's pipeline (read the file batch by batch,
 * build rows, encode, run the tower, copy into the matrix) against raw session.run on the same
 * batches already encoded, for several batch sizes and onnxruntime thread counts.
 */
import * as ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { embedCatalog, embedUsers, recentHistoryIds } from '../../indexer/embedTables.js';
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
  pipelineRowsS: number;
  rawRowsS: number;
}

export async function benchEmbedding(inputs: IndexerInputs, modelDir: string, batches: number[], threadCounts: number[], runs: number): Promise<EmbedRow[]> {
  const manifest = await readModelManifest(modelDir);
  const vocabs = await readVocabularies(modelDir, manifest);
  const items = await loadItems(inputs.itemsFile);
  const userRows = inputs.usersFile ? await loadUsers(inputs.usersFile) : [];
  const queries: UserQuery[] = inputs.users.ids.map((id, u) => ({ userId: id, user: userRows[u] ?? null, history: recentHistoryIds(inputs, u) }));
  const out: EmbedRow[] = [];
  for (const threads of threadCounts) {
    const model = await loadModel(modelDir, { intraOpThreads: threads });
    const sessionOf = async (file: string) =>
      ort.InferenceSession.create(await readFile(path.join(modelDir, file)), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
    const itemSession = await sessionOf(manifest.itemTower.file);
    const userSession = await sessionOf(manifest.userTower.file);
    for (const batch of batches) {
      const pipeItems = median(await repeat(runs, async () => rate(items.length, await time(() => embedCatalog(inputs, model, batch)))));
      const rawItems = median(await repeat(runs, () => rawRate(itemSession, items.length, batch, (s, e) => encodeItems(manifest.itemTower, vocabs, items.slice(s, e)))));
      out.push({ tower: 'item', batch, threads, pipelineRowsS: pipeItems, rawRowsS: rawItems });
      const pipeUsers = median(await repeat(runs, async () => rate(queries.length, await time(() => embedUsers(inputs, model, batch)))));
      const rawUsers = median(await repeat(runs, () => rawRate(userSession, queries.length, batch, (s, e) => encodeUsers(manifest.userTower, vocabs, queries.slice(s, e)))));
      out.push({ tower: 'user', batch, threads, pipelineRowsS: pipeUsers, rawRowsS: rawUsers });
    }
    await Promise.all([model.close(), itemSession.release(), userSession.release()]);
  }
  return out;
}

/** Rows/s of session.run alone: every batch is encoded first, and only the runs are timed. */
async function rawRate(session: ort.InferenceSession, rows: number, batch: number, encode: (s: number, e: number) => ReturnType<typeof encodeItems>): Promise<number> {
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let s = 0; s < rows; s += batch) feeds.push(toOrtFeeds(encode(s, Math.min(rows, s + batch))));
  const t0 = performance.now();
  for (const f of feeds) await session.run(f);
  return rate(rows, performance.now() - t0);
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function rate(rows: number, ms: number): number {
  return Math.round((rows * 1000) / ms);
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
