import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RankResult } from '../../ranker/pipeline/types.js';
import { rankResponseSchema } from '../../ranker/schemas.js';
import { serializeRankedItems, serializeRankResponse } from '../../ranker/serializeRank.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';

// The reference: Fastify's own schema serializer over the response schema, as the route used it.
let ref: FastifyInstance;
let payload: unknown;
beforeAll(async () => {
  ref = Fastify();
  ref.get('/', { schema: { response: { 200: rankResponseSchema } } }, async () => payload);
  await ref.ready();
});
afterAll(async () => {
  await ref.close();
});

async function viaSchema(result: RankResult, tookMs: number): Promise<{ status: number; body: string }> {
  payload = { ...result, tookMs };
  const res = await ref.inject({ method: 'GET', url: '/' });
  return { status: res.statusCode, body: res.body };
}

const f32 = (x: number) => Math.fround(x);

function result(over: Partial<RankResult> = {}, n = 20, explain = false): RankResult {
  const items = Array.from({ length: n }, (_, i) => {
    const item: RankResult['items'][number] = { itemId: `i${i * 7919}`, score: f32(Math.sin(i) * 3.3), retrievalScore: f32(Math.cos(i) / 7) };
    if (explain) item.features = Object.fromEntries(RANK_FEATURES.map((f, j) => [f, f32(i / (j + 3))])) as never;
    return item;
  });
  return {
    userId: 'u42',
    items,
    source: 'precomputed',
    degraded: false,
    indexVersion: 'v20261122T135045Z-7c6beb',
    modelVersion: 'm1',
    timingsMs: { resolve: 0.0123, candidates: 0.04567891234, filter: 0.001, features: 0.0456, score: 0.1, order: 0.003 },
    ...over,
  };
}

describe('serializeRankResponse', () => {
  const cases: Array<[string, RankResult]> = [
    ['a typical answer', result()],
    ['explain, with every feature', result({}, 5, true)],
    ['degraded by the deadline, no score timing', result({ degraded: true, degradedReason: 'deadline', timingsMs: { resolve: 0.01, candidates: 0.2, filter: 0, features: 0.3, order: 0.01 } })],
    ['ignored ids, without candidates', result({ ignored: { session: ['x', 'é"\\'], exclude: [] } })],
    ['ignored ids, with candidates', result({ source: 'caller', ignored: { session: [], exclude: ['q'], candidates: ['c1', '\u2028'] } })],
    ['no items', result({ source: 'popular' }, 0)],
    ['timings inserted out of order', result({ timingsMs: { order: 0.5, score: 1, resolve: 2, features: 3, filter: 4, candidates: 5 } })],
    ['odd numbers: -0, tiny, huge, infinite', result({ items: [{ itemId: 'a', score: -0, retrievalScore: 1e-30 }, { itemId: 'b', score: 1e300, retrievalScore: Infinity }] })],
  ];
  for (const [name, r] of cases) {
    it(`${name}: the same bytes as the schema serializer`, async () => {
      const tookMs = 0.30000000000000004;
      const ours = serializeRankResponse(r, tookMs);
      const theirs = await viaSchema(r, tookMs);
      expect(theirs.status).toBe(200);
      expect(ours).toBe(theirs.body);
    });
  }

  // The scoring worker writes the items' text (serializeRankedItems) and the rest is written around
  // it. Its values come from Float32Arrays, so only the cases whose values are float32 apply.
  const isF32 = (x: number) => Object.is(Math.fround(x), x);
  for (const [name, r] of cases.filter(([, c]) => c.items.every((it) => !it.features && isF32(it.score) && isF32(it.retrievalScore)))) {
    it(`${name}, items written by the scoring worker: the same bytes`, async () => {
      const ids = r.items.map((it) => it.itemId);
      const candidates = Int32Array.from(ids, (_, i) => ids.length - 1 - i); // candidate p is item index p
      const positions = Int32Array.from(ids, (_, i) => ids.length - 1 - i);
      const retrieval = Float32Array.from(ids, (_, p) => r.items[ids.length - 1 - p].retrievalScore);
      const scores = Float32Array.from(r.items, (it) => it.score);
      const itemsJson = serializeRankedItems(ids, candidates, retrieval, positions, scores);
      expect(itemsJson).not.toBeNull();
      const tookMs = 1.25;
      expect(serializeRankResponse({ ...r, itemsJson: itemsJson! }, tookMs)).toBe((await viaSchema(r, tookMs)).body);
    });
  }

  it('serializeRankedItems leaves a NaN to the full serializer, which refuses it', () => {
    expect(serializeRankedItems(['a'], Int32Array.of(0), Float32Array.of(0.5), Int32Array.of(0), Float32Array.of(NaN))).toBeNull();
    expect(serializeRankedItems(['a'], Int32Array.of(0), Float32Array.of(NaN), Int32Array.of(0), Float32Array.of(1))).toBeNull();
    expect(() => serializeRankResponse({ ...result(), itemsJson: '[]' }, NaN)).toThrow();
  });

  it('a NaN fails, as it does in the schema serializer', async () => {
    const r = result({ items: [{ itemId: 'a', score: NaN, retrievalScore: 0 }] });
    expect(() => serializeRankResponse(r, 1)).toThrow();
    expect((await viaSchema(r, 1)).status).toBe(500);
    expect(() => serializeRankResponse(result(), NaN)).toThrow();
  });
});
