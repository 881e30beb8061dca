/**
 * One /v1/rank request through the chain: resolve → candidates → filter → features → score →
 * order. Every stage is timed; the timings travel back in the response.
 */
import { candidatesStage, type CandidatesOutput } from './candidates.js';
import { featuresStage } from './features.js';
import { filterStage } from './filter.js';
import { orderStage } from './order.js';
import { resolveStage } from './resolve.js';
import { scoreStage } from './score.js';
import { servingContext } from './servingContext.js';
import { runStage } from './timing.js';
import type { CandidateList, PipelineContext, RankRequest, RankResult, StageTimings } from './types.js';

export async function rank({ version, log }: PipelineContext, request: RankRequest): Promise<RankResult> {
  const timings: StageTimings = {};
  const context = servingContext(version);
  const resolved = await runStage(resolveStage, { version, request }, timings);
  const { drop } = resolved;

  const fetch = (usePrecomputed: boolean): Promise<CandidatesOutput> =>
    runStage(
      candidatesStage,
      {
        version,
        log,
        userId: request.userId,
        knownUser: resolved.knownUser,
        sessionIds: resolved.sessionIds,
        // Every dropped item could be among the nearest, so fetch that many more than needed.
        need: Math.max(request.k, context.poolSize) + drop.size,
        usePrecomputed,
      },
      timings,
    );
  let candidates = await fetch(true);
  let kept: CandidateList = await runStage(filterStage, { candidates, drop }, timings);
  if (kept.items.length < request.k && candidates.source === 'precomputed') {
    // A precomputed list has a fixed depth; when the request asks for more than survives the
    // filter, a live retrieval over-fetches as deep as needed.
    candidates = await fetch(false);
    kept = await runStage(filterStage, { candidates, drop }, timings);
  }

  const n = kept.items.length;
  const { features } = await runStage(
    featuresStage,
    { version, context, candidates: kept, sessionItems: resolved.sessionItems },
    timings,
  );
  const { scores } = await runStage(scoreStage, { model: version.model, features, n, log }, timings);
  const order = await runStage(orderStage, { scores, n, k: request.k }, timings);

  const items = Array.from(order, (p) => {
    const retrievalScore = kept.scores[p];
    return {
      itemId: version.itemIds[kept.items[p]],
      score: scores ? scores[p] : retrievalScore,
      retrievalScore,
    };
  });
  const { ignored } = resolved;
  return {
    userId: request.userId,
    items,
    source: candidates.source,
    degraded: candidates.degraded || scores === null,
    indexVersion: version.id,
    modelVersion: version.model.modelVersion,
    timingsMs: timings,
    ...(ignored.session.length > 0 || ignored.exclude.length > 0 ? { ignored } : {}),
  };
}
