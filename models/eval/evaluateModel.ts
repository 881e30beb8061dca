/**
 * Evaluation of a model folder on a data folder under a protocol, without publishing anything:
 * split the log, embed every catalog item and every evaluated user through the model's ONNX towers
 * (the serving code path), exact retrieval over all items, the ranker over the retrieved
 * candidates with the protocol's session, and the baselines, all on the same users.
 *
 * The model must have been trained on this protocol's training split (twotower train --protocol):
 * a model that saw the test rows would be scored on what it memorised, so it is refused unless
 * the caller says otherwise.
 */
import { TwoTowerError } from '../../shared/errors.js';
import type { ItemRow, UserRow } from '../../shared/data/types.js';
import { loadModel } from '../model.js';
import { readModelManifest, type ModelManifest } from '../manifest.js';
import { popularityLists, popularityOrder, randomLists } from './baselines.js';
import { finishRun, lapTimer, makeEvalContext, scoreMethods, type EvalUsers } from './evalContext.js';
import { EVAL_KS, type EvalRun } from './evalTypes.js';
import { exactTopK } from './exactRetrieval.js';
import { loadProtocolData, type ProtocolData } from './protocolData.js';
import { splitByProtocol, type ProtocolOptions } from './protocols/splitProtocol.js';
import type { ProtocolName, ProtocolSplit } from './protocols/types.js';
import { rerank } from './rerank.js';

export interface ProtocolRunOptions extends ProtocolOptions {
  protocol: ProtocolName;
  /** Evaluate at most this many users, a seeded sample (0 or absent: all). */
  maxUsers?: number;
}

/** A data folder split by a protocol, shared by every model evaluated on it. */
export interface PreparedProtocol {
  data: ProtocolData;
  split: ProtocolSplit;
  itemIndex: Map<string, number>;
  users: EvalUsers;
  /** What the user tower sees for each evaluated user (item ids, oldest first). */
  histories: string[][];
  popularity: Float32Array;
  trainUsers: number;
  itemCategory: Int32Array;
  userRows: Map<string, UserRow>;
  /** Held-out items not in the catalog, and the like. */
  skipped: Record<string, number>;
  timingsMs: Record<string, number>;
}

export async function prepareProtocol(dataDir: string, o: ProtocolRunOptions): Promise<PreparedProtocol> {
  const timer = lapTimer();
  const data = await loadProtocolData(dataDir);
  timer.lap('load');
  const split = splitByProtocol(o.protocol, data.interactions, o);
  timer.lap('split');
  const itemIndex = new Map(data.items.map((r, i) => [r.itemId, i]));
  const toIdx = (ids: Iterable<string>): number[] => {
    const out: number[] = [];
    for (const id of ids) {
      const i = itemIndex.get(id);
      if (i !== undefined) out.push(i);
    }
    return out;
  };
  let chosen = split.users;
  if (o.maxUsers && o.maxUsers > 0 && chosen.length > o.maxUsers) {
    const { Random } = await import('../../shared/data/random.js');
    const idx = new Random(split.seed).fork(99).shuffle(chosen.map((_, i) => i)).slice(0, o.maxUsers).sort((a, b) => a - b);
    chosen = idx.map((i) => split.users[i]);
  }
  const users: EvalUsers = { ids: [], relevant: [], exclude: [], sessions: [], activity: new Int32Array(chosen.length) };
  chosen.forEach((u, r) => {
    users.ids.push(u.userId);
    users.relevant.push(new Set(toIdx(u.relevant)));
    users.exclude.push(new Set(toIdx(u.exclude)));
    users.sessions.push(Int32Array.from(toIdx(u.session)));
    users.activity[r] = u.history.length;
  });
  const histories = chosen.map((u) => u.history);
  const popularity = new Float32Array(data.items.length);
  const trainUserSet = new Set<string>();
  for (const r of split.train) {
    const i = itemIndex.get(r.itemId);
    if (i !== undefined) popularity[i]++;
    trainUserSet.add(r.userId);
  }
  const categories = new Map<string, number>();
  const itemCategory = Int32Array.from(data.items, (r: ItemRow) => {
    if (r.category === null || r.category === '') return -1;
    let c = categories.get(r.category);
    if (c === undefined) categories.set(r.category, (c = categories.size));
    return c;
  });
  timer.lap('index');
  return {
    data,
    split,
    itemIndex,
    users,
    histories,
    popularity,
    trainUsers: trainUserSet.size,
    itemCategory,
    userRows: new Map(data.users.map((u) => [u.userId, u])),
    skipped: { sampledOutUsers: split.users.length - chosen.length },
    timingsMs: timer.timings,
  };
}

export interface ModelEvalOptions {
  /** Candidates the ranker re-scores per user (default 100, as the indexer's top-K). */
  candidates?: number;
  /** Seed of the random baseline (default: the protocol's). */
  seed?: number;
  /** Evaluate even when the model was not trained on this protocol's training split. */
  allowLeak?: boolean;
  ks?: readonly number[];
}

export async function evaluateModelOn(p: PreparedProtocol, modelDir: string, o: ModelEvalOptions = {}): Promise<EvalRun> {
  const timer = lapTimer();
  const manifest = await readModelManifest(modelDir);
  const notes = leakCheck(manifest, p.split, modelDir, o.allowLeak ?? false);
  const ks = o.ks ?? EVAL_KS;
  const maxK = Math.max(...ks);
  const N = Math.max(maxK, o.candidates ?? 100);
  const model = await loadModel(modelDir);
  try {
    const itemEmb = await embedInChunks(p.data.items.length, model.dim, (a, b) => model.embedItems(p.data.items.slice(a, b)));
    const userEmb = await embedInChunks(p.users.ids.length, model.dim, (a, b) =>
      model.embedUsers(
        p.users.ids.slice(a, b).map((userId, j) => ({ userId, user: p.userRows.get(userId) ?? null, history: p.histories[a + j] })),
      ),
    );
    timer.lap('embed');
    const retrieved = exactTopK(userEmb, itemEmb, model.dim, p.users.exclude, N);
    timer.lap('retrieve');
    const ranked = await rerank({ model, embeddings: itemEmb, dim: model.dim, popularity: p.popularity, itemCategory: p.itemCategory }, retrieved, p.users.sessions);
    timer.lap('rerank');
    const pop = popularityLists(popularityOrder(p.popularity), p.users.exclude, maxK);
    const rnd = randomLists(p.data.items.length, p.users.exclude, maxK, o.seed ?? p.split.seed);
    timer.lap('baselines');
    const ctx = makeEvalContext(p.users, p.popularity, p.trainUsers, ks);
    const methods = scoreMethods(ctx, [
      { name: 'retrieval', kind: 'view', lists: retrieved.lists, scores: retrieved.scores, scoreLabel: `${model.similarity} similarity` },
      { name: 'pipeline', kind: 'view', lists: ranked.lists, scores: ranked.scores, scoreLabel: 'ranker score', extra: { candidates: N } },
      { name: 'popularity', kind: 'baseline', lists: pop },
      { name: 'random', kind: 'baseline', lists: rnd },
    ]);
    timer.lap('metrics');
    return finishRun(
      ctx,
      { kind: 'model', id: model.modelVersion, modelVersion: model.modelVersion, path: modelDir },
      { name: p.split.protocol, seed: p.split.seed, params: p.split.params },
      methods,
      p.skipped,
      { ...p.timingsMs, ...timer.timings },
      notes,
    );
  } finally {
    await model.close();
  }
}

async function embedInChunks(n: number, dim: number, embed: (a: number, b: number) => Promise<Float32Array>): Promise<Float32Array> {
  const out = new Float32Array(n * dim);
  const chunk = 2048;
  for (let a = 0; a < n; a += chunk) {
    const b = Math.min(n, a + chunk);
    out.set(await embed(a, b), a * dim);
  }
  return out;
}

/**
 * The model must have been trained on exactly this split's training rows; the trainer records
 * their fingerprint. Returns notes for the report; throws when the model saw other rows.
 */
export function leakCheck(m: ModelManifest, split: ProtocolSplit, dir: string, allow: boolean): string[] {
  const params = m.training?.params ?? {};
  const got = params.trainFingerprint;
  if (got === split.trainFingerprint) return [];
  if (m.training === undefined) return [`${dir}: the manifest does not say what the model was trained on; make sure it never saw this protocol's test rows`];
  const why =
    got === undefined
      ? `it was trained without a protocol (on the whole data folder, test rows included)`
      : `it was trained on another split (protocol ${String(params.protocol)}, seed ${String(params.protocolSeed)}, fingerprint ${String(got)}; this run is ${split.protocol}, seed ${split.seed}, fingerprint ${split.trainFingerprint})`;
  const msg = `model ${dir}: ${why}; retrain with \`twotower train --protocol ${split.protocol}\` on the same data, or pass --allow-leak`;
  if (!allow) throw new TwoTowerError('BAD_INPUT', msg);
  return [`LEAK: ${msg.replace(', or pass --allow-leak', '')}`];
}
