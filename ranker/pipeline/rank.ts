/**
 * One /v1/rank request through the chain: resolve → candidates → filter → features → score →
 * order, the last three in the version's scoring worker when it has one (scoreAndOrder.ts).
 * Every stage is timed; the timings travel back in the response.
 */
import { RANK_FEATURES, type RankFeatureName } from '../../shared/rankFeatures.js';
import { scoringWorkerOf } from '../scoring/scoringWorkerClient.js';
import { candidatesStage, type CandidatesOutput } from './candidates.js';
import { filterStage } from './filter.js';
import { resolveStage, resolveUser, type ResolvedUser } from './resolve.js';
import { scoreAndOrderInThread, scoreAndOrderInWorker, type ScoreAndOrderInput } from './scoreAndOrder.js';
import { servingContext } from './servingContext.js';
import { runStage, runSyncStage } from './timing.js';
import type { CandidateList, DegradedReason, PipelineContext, RankedItem, RankRequest, RankResult, StageTimings } from './types.js';

export async function rank({ version, log, microBatch }: PipelineContext, request: RankRequest): Promise<RankResult> {
  const timings: StageTimings = {};
  const context = servingContext(version);
  const resolved = runSyncStage(resolveStage, { version, request }, timings);
  const callerItems = resolved.callerItems;
  let user: ResolvedUser | undefined;
  const lookUpUser = (): ResolvedUser => (user ??= resolveUser(version, request.userId, resolved.requestDrop));

  const fetch = (usePrecomputed: boolean): Promise<CandidatesOutput> =>
    runStage(
      candidatesStage,
      {
        version,
        log,
        userId: request.userId,
        user: lookUpUser,
        sessionIds: resolved.sessionIds,
        requestDrop: resolved.requestDrop,
        want: Math.max(request.k, context.poolSize),
        usePrecomputed,
        callerItems,
        embedUser: microBatch ? context.embedUserBatched : undefined,
      },
      timings,
    );
  let candidates = await fetch(request.usePrecomputed ?? true);
  let kept: CandidateList = runSyncStage(filterStage, { candidates, drop: candidates.drop }, timings);
  if (kept.items.length < request.k && candidates.source === 'precomputed') {
    // A precomputed list has a fixed depth; when the request asks for more than survives the
    // filter, a live retrieval over-fetches as deep as needed.
    candidates = await fetch(false);
    kept = runSyncStage(filterStage, { candidates, drop: candidates.drop }, timings);
  }

  const scoring: ScoreAndOrderInput = {
    version,
    context,
    log,
    candidates: kept,
    sessionItems: resolved.sessionItems,
    k: request.k,
    explain: request.explain ?? false,
    deadline: request.deadline,
    microBatch: microBatch ?? false,
  };
  const worker = scoringWorkerOf(version);
  const ranked = worker ? await scoreAndOrderInWorker(scoring, worker, timings) : await scoreAndOrderInThread(scoring, timings);

  const { order, scores, features } = ranked;
  const items = Array.from(order, (p, i): RankedItem => {
    const retrievalScore = kept.scores[p];
    const item: RankedItem = {
      itemId: version.itemIds[kept.items[p]],
      score: scores ? scores[i] : retrievalScore,
      retrievalScore,
    };
    if (features) item.features = featureRow(features, i);
    return item;
  });

  let degradedReason: DegradedReason | undefined;
  if (candidates.degraded) degradedReason = 'retrieval_failed';
  else if (ranked.late) degradedReason = 'deadline';
  else if (scores === null) degradedReason = 'ranker_failed';

  const { ignored } = resolved;
  const anyIgnored = ignored.session.length > 0 || ignored.exclude.length > 0 || (ignored.candidates?.length ?? 0) > 0;
  return {
    userId: request.userId,
    items,
    source: candidates.source,
    degraded: degradedReason !== undefined,
    ...(degradedReason ? { degradedReason } : {}),
    indexVersion: version.id,
    modelVersion: version.model.modelVersion,
    timingsMs: timings,
    ...(anyIgnored ? { ignored } : {}),
    ...(ranked.itemsJson !== null ? { itemsJson: ranked.itemsJson } : {}),
  };
}

/** Row i of an m × RANK_FEATURES matrix, keyed by feature name. */
function featureRow(rows: Float32Array, i: number): Record<RankFeatureName, number> {
  const F = RANK_FEATURES.length;
  const row = {} as Record<RankFeatureName, number>;
  RANK_FEATURES.forEach((name, f) => {
    row[name] = rows[i * F + f];
  });
  return row;
}
