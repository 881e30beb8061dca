/**
 * Offline evaluation of a published version on held-out interactions (the holdout table of a
 * data folder: each user's latest interactions, which the index never saw).
 *
 * Three rankings per user, all excluding what the user has already seen:
 *   retrieval  the version's precomputed candidates, in retrieval order
 *   ranked     the same candidates re-scored by the version's ONNX ranker, with the user's last
 *              5 history items as the session (what the online ranker does)
 *   popularity the version's popularity list (the baseline any model must beat)
 */
import { loadInteractions, resolveTable } from '../../shared/data/readers.js';
import { InputError, TwoTowerError } from '../../shared/errors.js';
import { computeRankFeatures, RANK_FEATURES } from '../../shared/rankFeatures.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { hitRateAtK, ndcgAtK, recallAtK } from './metrics.js';

export const EVAL_KS = [10, 50] as const;
const METRICS = { recall: recallAtK, ndcg: ndcgAtK, hitrate: hitRateAtK } as const;
type MetricName = keyof typeof METRICS;
const SESSION_LENGTH = 5;

export interface EvalReport {
  version: string;
  modelVersion: string;
  users: number;
  skipped: { unknownUsers: number; unknownItems: number };
  /** rows[method][`${metric}@${k}`] = mean over evaluated users */
  rows: Record<string, Record<string, number>>;
}

export async function evaluateVersion(opts: { store: string; data: string; version?: string }): Promise<EvalReport> {
  const holdoutFile = resolveTable(opts.data, 'holdout');
  if (!holdoutFile) throw new InputError({ file: opts.data }, 'no holdout file (expected holdout.arrow, .csv or .jsonl)');
  const holdout = await loadInteractions(holdoutFile);
  const version = await loadVersion(opts.store, opts.version);
  try {
    return await evaluateLoaded(version, holdout);
  } finally {
    await version.close();
  }
}

export async function evaluateLoaded(v: LoadedVersion, holdout: { userId: string; itemId: string }[]): Promise<EvalReport> {
  if (RANK_FEATURES.length !== v.model.rankerFeatures.length) {
    throw new TwoTowerError('MODEL_CONTRACT', `the model's ranker expects ${v.model.rankerFeatures.length} features, this build computes ${RANK_FEATURES.length}`);
  }
  const relevant = new Map<string, Set<number>>();
  let unknownItems = 0;
  for (const r of holdout) {
    const item = v.itemIndex.get(r.itemId);
    if (item === undefined) {
      unknownItems++;
      continue;
    }
    let set = relevant.get(r.userId);
    if (!set) relevant.set(r.userId, (set = new Set()));
    set.add(item);
  }

  const maxK = Math.max(...EVAL_KS);
  const sums: Record<string, Record<string, number>> = { retrieval: {}, ranked: {}, popularity: {} };
  let users = 0;
  let unknownUsers = 0;
  const logMaxPop = Math.log1p(v.popularity.reduce((m, x) => Math.max(m, x), 0));
  for (const [userId, rel] of relevant) {
    const cands = v.candidates.get(userId);
    const known = v.users.get(userId);
    if (!cands || !known) {
      unknownUsers++;
      continue;
    }
    users++;
    const seen = new Set<number>();
    for (const id of known.history) {
      const i = v.itemIndex.get(id);
      if (i !== undefined) seen.add(i);
    }
    const session = Int32Array.from(
      known.history
        .slice(-SESSION_LENGTH)
        .map((id) => v.itemIndex.get(id))
        .filter((i): i is number => i !== undefined),
    );
    const features = computeRankFeatures({
      candidates: cands.items,
      retrievalScores: cands.scores,
      sessionItems: session,
      embeddings: v.embeddings,
      dim: v.dim,
      popularity: v.popularity,
      logMaxPopularity: logMaxPop,
      itemCategory: v.itemCategory,
    });
    const scores = cands.items.length ? await v.model.scoreRanker(features, cands.items.length) : new Float32Array(0);
    const order = Array.from(cands.items.keys()).sort((a, b) => scores[b] - scores[a]);
    const lists: Record<string, number[]> = {
      retrieval: Array.from(cands.items),
      ranked: order.map((i) => cands.items[i]),
      popularity: topUnseen(v.popular, seen, maxK),
    };
    for (const [method, list] of Object.entries(lists)) {
      for (const k of EVAL_KS) {
        for (const [name, fn] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
          const key = `${name}@${k}`;
          sums[method][key] = (sums[method][key] ?? 0) + fn(list, rel, k);
        }
      }
    }
  }
  const rows: EvalReport['rows'] = {};
  for (const [method, s] of Object.entries(sums)) {
    rows[method] = Object.fromEntries(Object.entries(s).map(([key, total]) => [key, users ? total / users : 0]));
  }
  return { version: v.id, modelVersion: v.model.modelVersion, users, skipped: { unknownUsers, unknownItems }, rows };
}

function topUnseen(popular: Int32Array, seen: Set<number>, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < popular.length && out.length < k; i++) if (!seen.has(popular[i])) out.push(popular[i]);
  return out;
}

export function formatEvalTable(r: EvalReport): string {
  const keys = EVAL_KS.flatMap((k) => (Object.keys(METRICS) as MetricName[]).map((m) => `${m}@${k}`));
  const header = ['method', ...keys];
  const body = Object.entries(r.rows).map(([method, vals]) => [method, ...keys.map((k) => (vals[k] ?? 0).toFixed(4))]);
  const widths = header.map((_, c) => Math.max(header[c].length, ...body.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join('  ');
  return [
    `version ${r.version} (model ${r.modelVersion}), ${r.users} users evaluated` +
      (r.skipped.unknownUsers || r.skipped.unknownItems ? `; skipped ${r.skipped.unknownUsers} users without a list, ${r.skipped.unknownItems} unknown held-out items` : ''),
    line(header),
    ...body.map(line),
  ].join('\n');
}
