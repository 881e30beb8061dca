/**
 * The /v1/rank 200 body as JSON text, byte for byte what Fastify's schema serializer
 * (fast-json-stringify over rankResponseSchema) writes, at about half its CPU: JSON.stringify
 * prints the ~50 numbers of an answer straight into its output, where the generated serializer
 * makes a string per number and concatenates. Keys come in that serializer's order (the required
 * properties first, then the optional ones, each in the schema's order); a NaN fails as it does
 * there (a 500), an infinity becomes null as it does there.
 */
import type { RankResult, StageTimings } from './pipeline/types.js';

export function serializeRankResponse(result: RankResult, tookMs: number): string {
  const { items } = result;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.score !== it.score || it.retrievalScore !== it.retrievalScore) throw notANumber();
    if (it.features) for (const v of Object.values(it.features)) if (v !== v) throw notANumber();
  }
  if (tookMs !== tookMs) throw notANumber();
  return JSON.stringify({
    userId: result.userId,
    items,
    source: result.source,
    degraded: result.degraded,
    indexVersion: result.indexVersion,
    modelVersion: result.modelVersion,
    tookMs,
    degradedReason: result.degradedReason,
    timingsMs: result.timingsMs ? orderedTimings(result.timingsMs) : undefined,
    ignored: result.ignored,
  });
}

/** The stage timings in the schema's order (a stage that did not run stays absent). */
function orderedTimings(t: StageTimings): StageTimings {
  for (const v of Object.values(t)) if (v !== v) throw notANumber();
  return { resolve: t.resolve, candidates: t.candidates, filter: t.filter, features: t.features, score: t.score, order: t.order };
}

function notANumber(): Error {
  return new Error('The value "NaN" cannot be converted to a number.');
}
