/**
 * One /v1/rank request through the chain: resolve → candidates → filter → features → score →
 * order. Every stage is timed; the timings travel back in the response.
 */
import { RANK_FEATURES, type RankFeatureName } from '../../shared/rankFeatures.js';
import { candidatesStage, type CandidatesOutput } from './candidates.js';
import { LATE, remainingMs, withDeadline } from './deadline.js';
import { featuresStage } from './features.js';
import { filterStage } from './filter.js';
import { orderStage } from './order.js';
import { resolveStage, resolveUser, type ResolvedUser } from './resolve.js';
import { scoreStage, type ScoreOutput } from './score.js';
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

  const n = kept.items.length;
  const { features, computed } = runSyncStage(
    featuresStage,
    { version, context, candidates: kept, sessionItems: resolved.sessionItems },
    timings,
  );
  // Scoring is the one stage worth abandoning: it is the costliest under load (onnxruntime's
  // queue) and the only one whose absence still leaves a sensible answer, the retrieval order.
  let scored: ScoreOutput | typeof LATE = LATE;
  if (remainingMs(request.deadline) > 0) {
    const score = microBatch ? context.scoreBatched : undefined;
    scored = await withDeadline(runStage(scoreStage, { model: version.model, score, features, n, log }, timings), request.deadline);
  }
  const scores = scored === LATE ? null : scored.scores;
  const order = runSyncStage(orderStage, { scores, n, k: request.k }, timings);

  const items = Array.from(order, (p): RankedItem => {
    const retrievalScore = kept.scores[p];
    const item: RankedItem = {
      itemId: version.itemIds[kept.items[p]],
      score: scores ? scores[p] : retrievalScore,
      retrievalScore,
    };
    if (request.explain) item.features = featureRow(computed, p);
    return item;
  });

  let degradedReason: DegradedReason | undefined;
  if (candidates.degraded) degradedReason = 'retrieval_failed';
  else if (scored === LATE) degradedReason = 'deadline';
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
  };
}

/** Row p of an n × RANK_FEATURES matrix, keyed by feature name. */
function featureRow(computed: Float32Array, p: number): Record<RankFeatureName, number> {
  const F = RANK_FEATURES.length;
  const row = {} as Record<RankFeatureName, number>;
  RANK_FEATURES.forEach((name, f) => {
    row[name] = computed[p * F + f];
  });
  return row;
}
