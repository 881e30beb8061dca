/**
 * The /v1/rank 200 body as JSON text, byte for byte what Fastify's schema serializer
 * (fast-json-stringify over rankResponseSchema) writes, at about half its CPU: JSON.stringify
 * prints the ~50 numbers of an answer straight into its output, where the generated serializer
 * makes a string per number and concatenates. Keys come in that serializer's order (the required
 * properties first, then the optional ones, each in the schema's order); a NaN fails as it does
 * there (a 500), an infinity becomes null as it does there.
 *
 * Formatting the items' ~40 numbers is most of that CPU, so the scoring worker formats them
 * (serializeRankedItems) and the main thread, the one the HTTP work keeps busiest, writes the rest
 * around that text.
 */
import type { RankedItem, RankResult, StageTimings } from './pipeline/types.js';

export function serializeRankResponse(result: RankResult, tookMs: number): string {
  if (tookMs !== tookMs) throw notANumber();
  if (result.itemsJson !== undefined) {
    // The items are text already (the scoring worker wrote them with serializeRankedItems): the
    // rest is written around them, each part as JSON.stringify writes it in the whole object.
    const head = JSON.stringify({ userId: result.userId });
    const tail = JSON.stringify(envelope(result, tookMs));
    return `${head.slice(0, -1)},"items":${result.itemsJson},${tail.slice(1)}`;
  }
  const { items } = result;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (it.score !== it.score || it.retrievalScore !== it.retrievalScore) throw notANumber();
    if (it.features) for (const v of Object.values(it.features)) if (v !== v) throw notANumber();
  }
  return JSON.stringify({ userId: result.userId, items, ...envelope(result, tookMs) });
}

/** Everything after items, in the serializer's order. */
function envelope(result: RankResult, tookMs: number) {
  return {
    source: result.source,
    degraded: result.degraded,
    indexVersion: result.indexVersion,
    modelVersion: result.modelVersion,
    tookMs,
    degradedReason: result.degradedReason,
    timingsMs: result.timingsMs ? orderedTimings(result.timingsMs) : undefined,
    ignored: result.ignored,
  };
}

/**
 * The items of an answer without explain features, as the JSON text serializeRankResponse writes
 * for them: candidate positions[i] of `candidates`, with its ranker score scores[i] and its
 * retrieval score. null when a value is NaN, which only the full serializer may refuse (a 500).
 */
export function serializeRankedItems(
  itemIds: readonly string[],
  candidates: Int32Array,
  retrievalScores: Float32Array,
  positions: Int32Array,
  scores: Float32Array,
): string | null {
  const items: RankedItem[] = [];
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i];
    const score = scores[i];
    const retrievalScore = retrievalScores[p];
    if (score !== score || retrievalScore !== retrievalScore) return null;
    items.push({ itemId: itemIds[candidates[p]], score, retrievalScore });
  }
  return JSON.stringify(items);
}

/** The stage timings in the schema's order (a stage that did not run stays absent). */
function orderedTimings(t: StageTimings): StageTimings {
  for (const v of Object.values(t)) if (v !== v) throw notANumber();
  return { resolve: t.resolve, candidates: t.candidates, filter: t.filter, features: t.features, score: t.score, order: t.order };
}

function notANumber(): Error {
  return new Error('The value "NaN" cannot be converted to a number.');
}
