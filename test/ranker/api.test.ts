/**
 * The ranker's API through app.inject() on a real published version: no socket, so these pin the
 * contract (fields, sources, ignored ids, errors) quickly and deterministically.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRankerApp } from '../../ranker/app.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { VersionHolder } from '../../ranker/versionHolder.js';
import { warmVersion } from '../../ranker/warm.js';
import { buildFixture, type RankerFixture } from './fixture.js';
import { parsePrometheusText } from './prometheusText.js';

interface RankItem {
  itemId: string;
  score: number;
  retrievalScore: number;
  features?: Record<string, number>;
}
interface RankResponse {
  userId: string;
  items: RankItem[];
  source: string;
  degraded: boolean;
  degradedReason?: string;
  indexVersion: string;
  modelVersion: string;
  tookMs: number;
  ignored?: { session: string[]; exclude: string[]; candidates?: string[] };
}

let fx: RankerFixture;
let version: LoadedVersion;
let versions: VersionHolder;
let app: FastifyInstance;
let history: Set<string>;
let notSeen: string[];

beforeAll(async () => {
  fx = await buildFixture({ seed: 21 });
  version = await loadVersion(fx.store);
  await warmVersion(version);
  versions = new VersionHolder(version);
  app = buildRankerApp({ versions, budgetMs: null }).app;
  await app.ready();
  history = new Set(fx.world.interactions.filter((r) => r.userId === fx.knownUserId).map((r) => r.itemId));
  notSeen = fx.world.items.map((i) => i.itemId).filter((id) => !history.has(id));
});

afterAll(async () => {
  await app?.close();
  await versions?.swap(null);
  await fx?.cleanup();
});

async function rank(body: Record<string, unknown>, target: FastifyInstance = app): Promise<{ status: number; json: RankResponse }> {
  const res = await target.inject({ method: 'POST', url: '/v1/rank', payload: body });
  return { status: res.statusCode, json: res.json() as RankResponse };
}

describe('POST /v1/rank', () => {
  it('answers a known user from the precomputed list with versions and retrieval scores', async () => {
    const { status, json } = await rank({ userId: fx.knownUserId, k: 7 });
    expect(status).toBe(200);
    expect(json.source).toBe('precomputed');
    expect(json.degraded).toBe(false);
    expect(json.indexVersion).toBe(fx.versionId);
    expect(json.modelVersion).toBe(version.model.modelVersion);
    expect(json.items).toHaveLength(7);
    for (const item of json.items) {
      expect(Number.isFinite(item.score)).toBe(true);
      expect(Number.isFinite(item.retrievalScore)).toBe(true);
      expect(item.features).toBeUndefined();
      expect(history.has(item.itemId)).toBe(false);
    }
    const scores = json.items.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('explain returns every ranker feature by name, retrieval_score equal to retrievalScore', async () => {
    const session = notSeen.slice(0, 3);
    const { json } = await rank({ userId: fx.knownUserId, k: 5, explain: true, session: { items: session } });
    expect(json.items).toHaveLength(5);
    for (const item of json.items) {
      expect(Object.keys(item.features ?? {}).sort()).toEqual([...RANK_FEATURES].sort());
      expect(item.features!.retrieval_score).toBeCloseTo(item.retrievalScore, 5);
      expect(item.features!.has_session).toBe(1);
      for (const v of Object.values(item.features!)) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('re-ranks caller candidates: only those, unknown ones reported, excluded and session ones dropped', async () => {
    const mine = notSeen.slice(100, 130);
    const seenOne = [...history][0];
    const { status, json } = await rank({
      userId: fx.knownUserId,
      k: 50,
      candidates: [...mine, 'no-such-item', mine[0], seenOne],
      exclude: [mine[1]],
      session: { items: [mine[2]] },
      explain: true,
    });
    expect(status).toBe(200);
    expect(json.source).toBe('caller');
    const returned = json.items.map((i) => i.itemId);
    // Duplicates count once; exclude and session drop; the user's history is the caller's call.
    expect(new Set(returned)).toEqual(new Set([...mine.slice(0, 1), ...mine.slice(3), seenOne]));
    expect(returned).toHaveLength(new Set(returned).size);
    expect(json.ignored?.candidates).toEqual(['no-such-item']);
    // A known user gets a real retrieval score (the live user vector against the item).
    expect(json.items.some((i) => i.retrievalScore !== 0)).toBe(true);
  });

  it('caller candidates of an unknown user without a session score with retrieval 0', async () => {
    const { json } = await rank({ userId: 'nobody-at-all', k: 3, candidates: notSeen.slice(0, 5) });
    expect(json.source).toBe('caller');
    expect(json.items).toHaveLength(3);
    for (const item of json.items) expect(item.retrievalScore).toBe(0);
  });

  it('ignores and reports unknown items in session and exclude instead of failing', async () => {
    const { status, json } = await rank({
      userId: fx.knownUserId,
      k: 5,
      session: { items: ['ghost-1', notSeen[0], 'ghost-1'] },
      exclude: ['ghost-2', notSeen[1]],
    });
    expect(status).toBe(200);
    expect(json.items).toHaveLength(5);
    expect(json.ignored).toEqual({ session: ['ghost-1'], exclude: ['ghost-2'] });
    const ids = json.items.map((i) => i.itemId);
    expect(ids).not.toContain(notSeen[0]);
    expect(ids).not.toContain(notSeen[1]);
  });

  it('accepts a free-form session.context', async () => {
    const { status } = await rank({ userId: fx.knownUserId, session: { items: [], context: { device: 'ios', hour: 21, tags: ['a'] } } });
    expect(status).toBe(200);
  });

  it('serves an unknown user with a session through the live path and one without from popularity', async () => {
    const live = await rank({ userId: 'new-user', k: 5, session: { items: notSeen.slice(0, 2) } });
    expect(live.json.source).toBe('cold_start');
    const popular = await rank({ userId: 'new-user', k: 5 });
    expect(popular.json.source).toBe('popular');
  });

  it('past its deadline answers in retrieval order, degraded, not late or failed', async () => {
    const { app: rushed } = buildRankerApp({ versions, budgetMs: 1e-9 });
    try {
      const { status, json } = await rank({ userId: fx.knownUserId, k: 10 }, rushed);
      expect(status).toBe(200);
      expect(json.degraded).toBe(true);
      expect(json.degradedReason).toBe('deadline');
      expect(json.items).toHaveLength(10);
      for (const item of json.items) expect(item.score).toBe(item.retrievalScore);
      const r = json.items.map((i) => i.retrievalScore);
      expect(r).toEqual([...r].sort((a, b) => b - a));
      const metrics = parsePrometheusText((await rushed.inject({ method: 'GET', url: '/metrics' })).body);
      expect(metrics.value('twotower_rank_degraded_total', { reason: 'deadline' })).toBe(1);
    } finally {
      await rushed.close();
    }
  });

  it('micro-batching concurrent requests changes no answer', async () => {
    const { app: batched } = buildRankerApp({ versions, budgetMs: null, microBatch: true });
    try {
      const bodies = [
        { userId: fx.knownUserId, k: 10, session: { items: notSeen.slice(0, 2) } },
        { userId: 'new-user', k: 10, session: { items: notSeen.slice(5, 8) } },
        { userId: 'another-new-user', k: 10, session: { items: notSeen.slice(9, 10) } },
        { userId: fx.knownUserId, k: 5, candidates: notSeen.slice(20, 40) },
      ];
      const together = await Promise.all(bodies.map((b) => rank(b, batched)));
      const alone: Awaited<ReturnType<typeof rank>>[] = [];
      for (const b of bodies) alone.push(await rank(b));
      together.forEach((t, i) => {
        expect(t.json.degraded).toBe(false);
        expect(t.json.items.map((x) => x.itemId)).toEqual(alone[i].json.items.map((x) => x.itemId));
        t.json.items.forEach((x, j) => expect(x.score).toBeCloseTo(alone[i].json.items[j].score, 4));
      });
    } finally {
      await batched.close();
    }
  });

  it('new request fields are validated and named', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ userId: 'u', candidates: 'i1' }, 'body/candidates'],
      [{ userId: 'u', candidates: ['i1', 3] }, 'body/candidates/1'],
      [{ userId: 'u', candidates: Array(1001).fill('i') }, 'body/candidates'],
      [{ userId: 'u', explain: 'yes' }, 'body/explain'],
      [{ userId: 'u', session: { context: 'web' } }, 'body/session/context'],
    ];
    for (const [body, field] of cases) {
      const res = await app.inject({ method: 'POST', url: '/v1/rank', payload: body });
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect((res.json() as { error: { message: string } }).error.message).toContain(field);
    }
  });
});

describe('GET /v1/similar/:itemId', () => {
  it('returns the k nearest items, without the item itself, best first', async () => {
    const itemId = notSeen[0];
    const res = await app.inject({ method: 'GET', url: `/v1/similar/${encodeURIComponent(itemId)}?k=8` });
    expect(res.statusCode).toBe(200);
    const json = res.json() as { itemId: string; items: Array<{ itemId: string; score: number }>; indexVersion: string };
    expect(json.itemId).toBe(itemId);
    expect(json.indexVersion).toBe(fx.versionId);
    expect(json.items).toHaveLength(8);
    expect(json.items.map((i) => i.itemId)).not.toContain(itemId);
    const scores = json.items.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('defaults k to 10', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/similar/${encodeURIComponent(notSeen[5])}` });
    expect((res.json() as { items: unknown[] }).items).toHaveLength(10);
  });

  it('an unknown item is a 404 in the error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/similar/no-such-item' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: `item 'no-such-item' is not in index version ${fx.versionId}` } });
  });

  it.each([['0'], ['abc'], ['1001'], ['-3'], ['2.5']])('k=%s → 400 naming querystring/k', async (k) => {
    const res = await app.inject({ method: 'GET', url: `/v1/similar/${encodeURIComponent(notSeen[0])}?k=${k}` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((res.json() as { error: { message: string } }).error.message).toContain('querystring/k');
  });
});

describe('GET /docs/json', () => {
  it('is an OpenAPI 3 document of the public routes', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/rank', '/v1/similar/{itemId}', '/healthz', '/readyz', '/metrics', '/admin/reload']),
    );
    expect(doc.paths['/docs/json']).toBeUndefined();
    const rankBody = JSON.stringify(doc.paths['/v1/rank'].post);
    for (const field of ['candidates', 'explain', 'context', 'retrievalScore', 'caller']) expect(rankBody).toContain(field);
  });
});

describe('GET /metrics', () => {
  it('is Prometheus text with stage latencies, sources, degraded and shed counts, version and age', async () => {
    await rank({ userId: fx.knownUserId, k: 5 });
    await rank({ userId: 'nobody', k: 5 });
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheusText(res.body);
    for (const stage of ['resolve', 'candidates', 'filter', 'features', 'score', 'order']) {
      expect(m.value('twotower_rank_stage_seconds_count', { stage })).toBeGreaterThan(0);
    }
    expect(m.value('twotower_rank_requests_total', { source: 'precomputed' })).toBeGreaterThan(0);
    expect(m.value('twotower_rank_requests_total', { source: 'popular' })).toBeGreaterThan(0);
    expect(m.value('twotower_rank_degraded_total', { reason: 'deadline' })).toBe(0);
    expect(m.has('twotower_shed_total')).toBe(true);
    expect(m.value('twotower_index_info', { index_version: fx.versionId, model_version: version.model.modelVersion })).toBe(1);
    const age = m.value('twotower_index_age_seconds', {});
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(3600);
    expect(m.types.get('twotower_rank_stage_seconds')).toBe('histogram');
  });

  it('keeps each app on its own registry', async () => {
    const other = buildRankerApp({ versions: new VersionHolder() });
    try {
      const m = parsePrometheusText((await other.app.inject({ method: 'GET', url: '/metrics' })).body);
      expect(m.value('twotower_rank_requests_total', { source: 'precomputed' })).toBe(0);
      expect(m.has('twotower_index_info')).toBe(true);
      expect(m.samples.some((s) => s.name === 'twotower_index_info')).toBe(false);
    } finally {
      await other.app.close();
    }
  });
});

describe('POST /admin/reload', () => {
  const calls: boolean[] = [];
  let admin: FastifyInstance;
  beforeAll(async () => {
    admin = buildRankerApp({
      versions,
      adminToken: 's3cret-token',
      reload: async ({ force }) => {
        calls.push(force);
        return { status: 'unchanged', indexVersion: fx.versionId };
      },
    }).app;
    await admin.ready();
  });
  afterAll(async () => {
    await admin.close();
  });

  it.each([
    ['no header', {}],
    ['a wrong token', { authorization: 'Bearer s3cret-tokem' }],
    ['a prefix of the token', { authorization: 'Bearer s3cret' }],
    ['another scheme', { authorization: 'Basic s3cret-token' }],
  ])('%s → 401 in the error shape, reload not run', async (_name, headers) => {
    const res = await admin.inject({ method: 'POST', url: '/admin/reload', headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(calls).toEqual([]);
  });

  it('the right token runs a forced reload', async () => {
    const res = await admin.inject({ method: 'POST', url: '/admin/reload', headers: { authorization: 'Bearer s3cret-token' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'unchanged', indexVersion: fx.versionId });
    expect(calls).toEqual([true]);
  });

  it('without a configured token the route is disabled, whatever is sent', async () => {
    for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: 'Bearer anything' }]) {
      const res = await app.inject({ method: 'POST', url: '/admin/reload', headers });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
  });
});

describe('load shedding (inject)', () => {
  it('past the in-flight limit answers 503 with Retry-After, then recovers', async () => {
    const { app: tiny } = buildRankerApp({ versions, maxInFlight: 1, budgetMs: null });
    try {
      const burst = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          tiny.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 'new-user', k: 5, session: { items: [notSeen[i]] } } }),
        ),
      );
      const statuses = burst.map((r) => r.statusCode);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      const shed = burst.filter((r) => r.statusCode === 503);
      expect(shed.length).toBeGreaterThan(0);
      expect(shed[0].headers['retry-after']).toBe('1');
      expect(shed[0].json()).toMatchObject({ error: { code: 'OVERLOADED' } });
      // Probes are never shed.
      expect((await tiny.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      for (let i = 0; i < 5; i++) expect((await rank({ userId: fx.knownUserId }, tiny)).status).toBe(200);
      const m = parsePrometheusText((await tiny.inject({ method: 'GET', url: '/metrics' })).body);
      expect(m.value('twotower_shed_total', { route: '/v1/rank' })).toBe(shed.length);
      expect(m.value('twotower_in_flight_requests', {})).toBe(0);
    } finally {
      await tiny.close();
    }
  });
});
