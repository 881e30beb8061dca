/**
 * Evaluation of a published index version on a data folder's holdout table (each user's latest
 * interactions, which the version never saw), in three views of that one version:
 *   retrieval  exact top-K from the version's embeddings (the user tower run on the user's known
 *              history, as the indexer ran it): what the ANN index approximates
 *   ann        the precomputed candidates the version serves, with their recall against exact
 *   pipeline   those candidates re-scored by the version's ranker with the user's last 5 known
 *              items as the session (what POST /v1/rank answers)
 * and the popularity (the version's own list) and random baselines, on the same users.
 */
import { availableParallelism } from 'node:os';
import { loadInteractions, resolveTable } from '../../shared/data/readers.js';
import { InputError } from '../../shared/errors.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { randomLists, popularityLists } from './baselines.js';
import { finishRun, lapTimer, makeEvalContext, scoreMethods, type EvalUsers } from './evalContext.js';
import { EVAL_KS, type EvalRun } from './evalTypes.js';
import { exactTopK, overlapAt, type RetrievedLists } from './exactRetrieval.js';
import { rerank } from './rerank.js';

export const STORE_SESSION_LENGTH = 5;

export interface StoreEvalOptions {
  store: string;
  data: string;
  version?: string;
  seed?: number;
  ks?: readonly number[];
}

export interface Holdout {
  rows: { userId: string; itemId: string }[];
}

export async function loadHoldout(data: string): Promise<Holdout> {
  const file = resolveTable(data, 'holdout');
  if (!file) throw new InputError({ file: data }, 'no holdout file (expected holdout.arrow, .csv or .jsonl)');
  return { rows: await loadInteractions(file) };
}

export async function evaluateStoreVersion(o: StoreEvalOptions, holdout?: Holdout): Promise<EvalRun> {
  const held = holdout ?? (await loadHoldout(o.data));
  // Offline, nothing else needs the cores: the towers get a thread per core (the ranker's 1 is for sharing).
  const v = await loadVersion(o.store, o.version, { intraOpThreads: availableParallelism() });
  try {
    return await evaluateLoadedVersion(v, held, o);
  } finally {
    await v.close();
  }
}

export async function evaluateLoadedVersion(v: LoadedVersion, holdout: Holdout, o: { seed?: number; ks?: readonly number[] } = {}): Promise<EvalRun> {
  const timer = lapTimer();
  const ks = o.ks ?? EVAL_KS;
  const maxK = Math.max(...ks);
  const skipped = { unknownItems: 0, unknownUsers: 0, heldOutAlreadySeen: 0 };
  const relevantById = new Map<string, Set<number>>();
  for (const r of holdout.rows) {
    const item = v.itemIndex.get(r.itemId);
    if (item === undefined) {
      skipped.unknownItems++;
      continue;
    }
    let set = relevantById.get(r.userId);
    if (!set) relevantById.set(r.userId, (set = new Set()));
    set.add(item);
  }
  const users: EvalUsers = { ids: [], relevant: [], exclude: [], sessions: [], activity: new Int32Array(0) };
  const queries: { userId: string; user: NonNullable<ReturnType<LoadedVersion['users']['get']>>['user']; history: string[] }[] = [];
  const ann: RetrievedLists = { lists: [], scores: [] };
  const activity: number[] = [];
  for (const userId of [...relevantById.keys()].sort()) {
    const known = v.users.get(userId);
    const cands = v.candidates.get(userId);
    if (!known || !cands) {
      skipped.unknownUsers++;
      continue;
    }
    const seen = new Set<number>();
    for (const id of known.history) {
      const i = v.itemIndex.get(id);
      if (i !== undefined) seen.add(i);
    }
    // A held-out item the version already knows the user had is excluded from every list: it
    // cannot be found, and its presence means the holdout leaked into the index's data.
    const relevant = new Set([...relevantById.get(userId)!].filter((i) => !seen.has(i)));
    skipped.heldOutAlreadySeen += relevantById.get(userId)!.size - relevant.size;
    if (relevant.size === 0) continue;
    users.ids.push(userId);
    users.relevant.push(relevant);
    users.exclude.push(seen);
    const sessionIds = known.history.slice(-STORE_SESSION_LENGTH);
    users.sessions.push(Int32Array.from(sessionIds.map((id) => v.itemIndex.get(id)).filter((i): i is number => i !== undefined)));
    activity.push(known.history.length);
    queries.push({ userId, user: known.user, history: known.history });
    ann.lists.push(cands.items);
    ann.scores.push(cands.scores);
  }
  users.activity = Int32Array.from(activity);
  timer.lap('load');

  const userEmb = new Float32Array(queries.length * v.dim);
  for (let a = 0; a < queries.length; a += 2048) userEmb.set(await v.model.embedUsers(queries.slice(a, a + 2048)), a * v.dim);
  timer.lap('embed');
  const exact = exactTopK(userEmb, v.embeddings, v.dim, users.exclude, Math.max(maxK, ...ann.lists.map((l) => l.length)));
  timer.lap('retrieve');
  const ranked = await rerank({ model: v.model, embeddings: v.embeddings, dim: v.dim, popularity: v.popularity, itemCategory: v.itemCategory }, ann, users.sessions);
  timer.lap('rerank');
  const pop = popularityLists(v.popular, users.exclude, maxK);
  const rnd = randomLists(v.itemIds.length, users.exclude, maxK, o.seed ?? 2020);
  timer.lap('baselines');

  const annExtra: Record<string, number> = {};
  for (const k of ks) annExtra[`recall_vs_exact@${k}`] = overlapAt(ann.lists, exact.lists, k);
  const ctx = makeEvalContext(users, v.popularity, v.manifest.counts.users, ks);
  const methods = scoreMethods(ctx, [
    { name: 'retrieval', kind: 'view', lists: exact.lists, scores: exact.scores, scoreLabel: `${v.model.similarity} similarity` },
    { name: 'ann', kind: 'view', lists: ann.lists, scores: ann.scores, scoreLabel: `${v.model.similarity} similarity`, extra: annExtra },
    { name: 'pipeline', kind: 'view', lists: ranked.lists, scores: ranked.scores, scoreLabel: 'ranker score' },
    { name: 'popularity', kind: 'baseline', lists: pop },
    { name: 'random', kind: 'baseline', lists: rnd },
  ]);
  timer.lap('metrics');
  const notes: string[] = [];
  if (skipped.heldOutAlreadySeen > 0) notes.push(`${skipped.heldOutAlreadySeen} held-out interactions are already in the version's user histories: the holdout leaked into the indexed data`);
  return finishRun(
    ctx,
    { kind: 'version', id: v.id, modelVersion: v.model.modelVersion, path: v.dir },
    { name: 'holdout', seed: o.seed ?? 2020, params: { session: STORE_SESSION_LENGTH } },
    methods,
    skipped,
    timer.timings,
    notes,
  );
}
