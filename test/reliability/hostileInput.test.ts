/**
 * Area 4, hostile input (and area 6's rule that error bodies carry no internals). Every route of
 * a running ranker gets property-based bodies, ids, query strings and headers (fast-check) plus a
 * corpus of known-nasty inputs: malformed JSON, huge bodies, deep nesting, wrong types, unicode
 * edge cases including lone surrogates and invalid UTF-8, prototype-pollution keys, very long ids,
 * k out of range, thousands of session items, odd Authorization headers, unknown routes and
 * methods, and raw malformed HTTP over a socket. Every answer must be a 4xx with a clear
 * {error: {code, message}} body or a valid 200; never a 5xx, never a crash; no error body may
 * carry a stack frame, a source location or a host path; the heap must stay flat.
 */
import net from 'node:net';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningRanker } from '../../ranker/serve.js';
import { buildFixture, type RankerFixture } from '../ranker/fixture.js';
import { heapMb, leaks, report, size, timeout } from './helpers.js';

const TOKEN = 'fuzz-admin-token-0123456789';
const RUNS = size(1, 25); // multiplies every property's run count

let fx: RankerFixture;
let server: RunningRanker;
let itemIds: string[];
let userIds: string[];

interface Tally {
  cases: number;
  byStatus: Map<number, number>;
  fiveHundreds: string[];
  leaked: string[];
  unclear: string[];
}
const tallies = new Map<string, Tally>();
function tally(route: string): Tally {
  let t = tallies.get(route);
  if (!t) tallies.set(route, (t = { cases: 0, byStatus: new Map(), fiveHundreds: [], leaked: [], unclear: [] }));
  return t;
}

beforeAll(async () => {
  fx = await buildFixture({ seed: 41 });
  server = await serve({ store: fx.store, port: 0, logger: false, adminToken: TOKEN, processMetrics: true, watch: false });
  itemIds = fx.world.items.map((i) => i.itemId);
  userIds = [...new Set(fx.world.interactions.map((r) => r.userId))];
});

afterAll(async () => {
  await server?.close();
  await fx?.cleanup();
});

interface Sent {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: string | Buffer;
}

/**
 * Sends one request through inject and checks the invariants every answer must meet, whatever
 * was sent. Returns the response for route-specific checks; null when the request could not even
 * be expressed (light-my-request refuses some header values before the app sees them).
 */
async function send(route: string, req: Sent): Promise<LightMyRequestResponse | null> {
  let res: LightMyRequestResponse;
  try {
    res = await server.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, payload: req.payload });
  } catch (err) {
    if (/Invalid character|invalid.*header|ERR_INVALID_CHAR|ERR_HTTP_INVALID_HEADER_VALUE|ERR_INVALID_HTTP_TOKEN/i.test(String(err))) return null;
    throw err;
  }
  const t = tally(route);
  t.cases++;
  t.byStatus.set(res.statusCode, (t.byStatus.get(res.statusCode) ?? 0) + 1);
  const requestText = `${req.method} ${req.url} ${JSON.stringify(req.headers ?? {})} ${req.payload?.toString() ?? ''}`;
  const where = `${req.method} ${req.url.slice(0, 120)} → ${res.statusCode} ${res.body.slice(0, 200)}`;
  if (res.statusCode >= 500) t.fiveHundreds.push(where);
  if (res.statusCode >= 400 && req.method !== 'HEAD') {
    const body = safeJson(res.body) as { error?: { code?: unknown; message?: unknown } } | undefined;
    const clear = typeof body?.error?.code === 'string' && typeof body.error.message === 'string' && body.error.message.length > 0;
    if (!clear) t.unclear.push(where);
    const found = leaks(res.body, requestText);
    if (found.length) t.leaked.push(`${found.join(',')}: ${where}`);
  }
  expect(res.statusCode, where).toBeLessThan(500);
  return res;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- arbitraries ------------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Strings from every corner: ASCII, control characters, any code point, lone surrogates. */
const nastyString = (maxLength = 40) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
    fc.string({ unit: fc.oneof(loneSurrogate, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength }),
    fc.constantFrom('', ' ', '\u0000', 'null', 'undefined', '__proto__', 'constructor', 'prototype', '../../etc/passwd', '%00', '\uFEFF', '\u202E', 'a'.repeat(257), 'x'.repeat(5000)),
  );
/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is written as the bytes a
 * careless client would send for it (WTF-8), so the server gets to see those too.
 */
function encodeAny(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}

const someItemId = () => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...itemIds) }, { weight: 1, arbitrary: nastyString() });
const someUserId = () => fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...userIds) }, { weight: 2, arbitrary: nastyString(300) });
const someK = fc.oneof(
  fc.integer({ min: -5, max: 1100 }),
  fc.constantFrom(0, 1, 1000, 1001, -1, 2 ** 31, 2 ** 53, 1.5, -0, 1e308),
  fc.double(),
  fc.string({ maxLength: 5 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const idList = (max: number) => fc.oneof(fc.array(someItemId(), { maxLength: max }), fc.anything({ maxDepth: 2 }));

/** Well-shaped bodies with hostile values, and some extra fields. */
function rankBody() {
  return fc
    .record(
      {
        userId: fc.oneof({ weight: 5, arbitrary: someUserId() }, { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) }),
        k: someK,
        session: fc.oneof(
          fc.record({ items: idList(30), context: fc.oneof(fc.object({ maxDepth: 3 }), fc.anything({ maxDepth: 1 })) }, { requiredKeys: [] }),
          fc.anything({ maxDepth: 2 }),
        ),
        exclude: idList(30),
        candidates: idList(30),
        explain: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 1 })),
        extra: fc.anything({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((b) => {
      // 'extra' stands for any unknown field; rename it to something arbitrary-looking.
      const { extra, ...rest } = b as Record<string, unknown>;
      return extra === undefined ? rest : { ...rest, [`x_${typeof extra}`]: extra };
    });
}

/** A body as bytes: JSON of a hostile value, or text that is not JSON at all, or damaged JSON. */
const rankPayload = () =>
  fc.oneof(
    { weight: 6, arbitrary: rankBody().map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: nastyString(200) },
    {
      weight: 2,
      arbitrary: fc.tuple(rankBody().map((b) => JSON.stringify(b)), fc.nat(), fc.string({ unit: 'binary-ascii', maxLength: 3 })).map(([json, at, junk]) => {
        const i = at % (json.length + 1);
        return json.slice(0, i) + junk + json.slice(i + (at % 3));
      }),
    },
  );

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=latin1', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '', 'application/json, text/plain', '*/*', 'application/jsonx') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

// ---- properties per route ----------------------------------------------------------------------

describe('property-based hostile input against every route', () => {
  it(
    'POST /v1/rank: any body, any content type → a valid 200 or a clear 4xx',
    async () => {
      const version = server.versions.get()!;
      await fc.assert(
        fc.asyncProperty(rankPayload(), contentType, async (payload, type) => {
          const res = await send('POST /v1/rank', { method: 'POST', url: '/v1/rank', headers: type ? { 'content-type': type } : {}, payload });
          if (res?.statusCode === 200) {
            const body = JSON.parse(res.body) as { items: { itemId: string; score: number }[]; indexVersion: string };
            const sent = safeJson(payload) as { k?: number };
            expect(body.indexVersion).toBe(version.id);
            expect(body.items.length).toBeLessThanOrEqual(typeof sent?.k === 'number' ? sent.k : 10);
            for (const item of body.items) expect(version.itemIndex.has(item.itemId)).toBe(true);
          }
        }),
        { numRuns: 400 * RUNS },
      );
    },
    timeout(120, 900),
  );

  it(
    'POST /v1/rank: every body the schema accepts, however odd its values, is answered 200',
    async () => {
      const version = server.versions.get()!;
      const validId = (max: number) => fc.oneof(fc.constantFrom(...itemIds), fc.string({ unit: fc.oneof(loneSurrogate, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: max }));
      const body = fc.record(
        {
          userId: fc.oneof(fc.constantFrom(...userIds), fc.string({ unit: fc.oneof(loneSurrogate, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 256 }), fc.constantFrom('\u0000', '__proto__', 'constructor', ' ', '😀'.repeat(256))),
          k: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1, 1000)),
          // Any context but one with a '__proto__' or 'constructor' key: the JSON parser refuses
          // those on purpose (the corpus checks that refusal).
          session: fc.record({ items: fc.array(validId(64), { maxLength: 200 }), context: fc.object({ maxDepth: 2, key: fc.string().filter((k) => k !== '__proto__' && k !== 'constructor') }) }, { requiredKeys: [] }),
          exclude: fc.array(validId(64), { maxLength: 200 }),
          candidates: fc.array(validId(64), { maxLength: 200 }),
          explain: fc.boolean(),
        },
        { requiredKeys: ['userId'] },
      );
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const res = await send('POST /v1/rank (valid)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(b) });
          expect(res?.statusCode, res?.body.slice(0, 300)).toBe(200);
          const out = JSON.parse(res!.body) as { items: { itemId: string; score: number; retrievalScore: number }[]; indexVersion: string };
          expect(out.indexVersion).toBe(version.id);
          expect(out.items.length).toBeLessThanOrEqual(b.k ?? 10);
          const excluded = new Set(b.exclude ?? []);
          const allowed = b.candidates ? new Set(b.candidates) : null;
          for (const item of out.items) {
            expect(version.itemIndex.has(item.itemId)).toBe(true);
            expect(excluded.has(item.itemId)).toBe(false);
            if (allowed) expect(allowed.has(item.itemId)).toBe(true);
            expect(Number.isFinite(item.score)).toBe(true);
          }
        }),
        { numRuns: 200 * RUNS },
      );
    },
    timeout(120, 900),
  );

  it(
    'GET /v1/similar/:itemId?k=: any id, any k → a valid 200 or a clear 4xx',
    async () => {
      const rawOrEncoded = fc.oneof(
        someItemId().map(encodeAny),
        fc.constantFrom('%', '%zz', '%00', '%C0%AF', '%ED%A0%80', '..%2F..%2Fetc%2Fpasswd', '.', '..', '%2e%2e', 'a%2Fb', 'x'.repeat(120), 'x'.repeat(3000), '%F0%9F%98%80', '%EF%BB%BF'),
      );
      const query = fc.oneof(
        fc.constant(''),
        someK.map((k) => `?k=${encodeAny(String(k))}`),
        fc.constantFrom('?k=', '?k=0', '?k=1000', '?k=1001', '?k=01', '?k=1e3', '?k=0x10', '?k=%20', '?k=1&k=2', '?k[]=1', '?k[a]=1', '?__proto__[k]=1', '?constructor[prototype][x]=1', '?x=1', '?k=5&x=1'),
        fc.webQueryParameters().map((q) => `?${q}`),
      );
      await fc.assert(
        fc.asyncProperty(rawOrEncoded, query, async (id, q) => {
          const res = await send('GET /v1/similar/:itemId', { method: 'GET', url: `/v1/similar/${id}${q}` });
          if (res?.statusCode === 200) {
            const body = JSON.parse(res.body) as { items: unknown[] };
            const k = Number(new URLSearchParams(q).get('k') ?? 10);
            expect(body.items.length).toBeLessThanOrEqual(k);
          }
        }),
        { numRuns: 200 * RUNS },
      );
    },
    timeout(60, 600),
  );

  it(
    'POST /admin/reload: no Authorization header value but the exact token gets in',
    async () => {
      const authorization = fc.oneof(
        nastyString(80),
        nastyString(80).map((s) => `Bearer ${s}`),
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          `Bearer ${TOKEN.slice(0, -1)}`,
          `Bearer ${TOKEN}x`,
          `Bearer ${TOKEN.toUpperCase()}`,
          `Bearer  ${TOKEN} extra`,
          `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
          `Token ${TOKEN}`,
          TOKEN,
          `Bearer ${TOKEN}\u0000`,
          `Bearer ${'A'.repeat(10_000)}`,
          'Bearer null',
          'Bearer undefined',
        ),
      );
      await fc.assert(
        fc.asyncProperty(authorization, fc.option(rankPayload()), fc.constantFrom('POST', 'GET', 'PUT'), async (auth, payload, method) => {
          const res = await send('POST /admin/reload', {
            method,
            url: '/admin/reload',
            headers: { authorization: auth, ...(payload !== null ? { 'content-type': 'application/json' } : {}) },
            payload: payload ?? undefined,
          });
          if (!res) return;
          const exact = /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] === TOKEN;
          if (method === 'POST' && !exact) expect(res.statusCode, `authorization ${JSON.stringify(auth).slice(0, 80)}`).toBe(401);
          if (res.statusCode === 200) expect(exact && method === 'POST').toBe(true);
        }),
        { numRuns: 200 * RUNS },
      );
    },
    timeout(60, 600),
  );

  it(
    'health, readiness, metrics, docs, unknown routes and methods: never 5xx, never an auth bypass',
    async () => {
      const known = ['/healthz', '/readyz', '/metrics', '/docs/json', '/v1/rank', '/admin/reload', '/v1/similar/x'];
      const path = fc.oneof(
        fc.constantFrom(...known),
        fc.constantFrom(...known).map((p) => p.toUpperCase()),
        fc.constantFrom(...known).map((p) => `${p}/`),
        fc.constantFrom(...known).map((p) => `/${p}`),
        fc.constantFrom('/v1/rank/../admin/reload', '/v1/../admin/reload', '/%61dmin/reload', '/admin%2Freload', '/admin/reload%00', '/admin/reload;x', '/admin/./reload', '/docs', '/docs/', '/docs/static/index.html', '/docs/yaml', '/', '*', '/..', '/%', '/%2e%2e/%2e%2e/etc/passwd', `/${'a'.repeat(5000)}`),
        fc.webPath(),
        nastyString(60).map((s) => `/${encodeAny(s)}`),
      );
      const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'SEARCH', 'PROPFIND', 'MKCOL', 'LOCK', 'COPY', 'MOVE');
      const query = fc.oneof(fc.constant(''), fc.webQueryParameters().map((q) => `?${q}`), fc.constantFrom('?__proto__[x]=1', '?a=1&a=2&a=3', `?${'q'.repeat(4000)}`));
      const headers = fc.record(
        {
          accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'application/openmetrics-text; version=1.0.0', 'garbage', ''),
          'accept-encoding': fc.constantFrom('gzip', 'br', 'deflate', 'identity', '*', 'x'),
          'content-type': contentType,
          'x-forwarded-for': fc.constantFrom('127.0.0.1', '::1', 'evil'),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(method, path, query, headers, fc.option(rankPayload()), async (m, p, q, h, payload) => {
          // An empty path cannot be expressed through inject; over a socket it is the raw cases' job.
          const res = await send('other routes', { method: m, url: `${p.startsWith('/') || p === '*' ? p : `/${p}`}${q}`, headers: h as Record<string, string>, payload: m === 'GET' || m === 'HEAD' ? undefined : (payload ?? undefined) });
          // No path trick reaches the admin action without a token.
          if (res && res.statusCode === 200) expect(res.body).not.toMatch(/"status":"(swapped|unchanged)"/);
        }),
        { numRuns: 300 * RUNS },
      );
    },
    timeout(60, 600),
  );
});

// ---- the corpus -----------------------------------------------------------------------------------

describe('a corpus of known-nasty inputs', () => {
  const json = (v: unknown) => JSON.stringify(v);
  const deep = (depth: number, open: string, close: string, inner = '1') => open.repeat(depth) + inner + close.repeat(depth);

  it(
    'each is answered 200 or a clear 4xx, and none pollutes Object.prototype',
    async () => {
      const user = userIds[0];
      const cases: [string, Sent, number[]][] = [
        ['empty body', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '' }, [400]],
        ['malformed JSON', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId": "u1",' }, [400]],
        ['JSON with trailing garbage', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"u1"} x' }, [400]],
        ['single quotes', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: "{'userId':'u1'}" }, [400]],
        ['NaN literal', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"u1","k":NaN}' }, [400]],
        ['a JSON string body', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '"u1"' }, [400]],
        ['a JSON array body', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '[{"userId":"u1"}]' }, [400]],
        ['null body', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: 'null' }, [400]],
        ['deeply nested arrays (200k)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: deep(200_000, '[', ']') }, [400]],
        ['deeply nested context (100k)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: `{"userId":"${user}","session":{"context":${deep(100_000, '{"a":', '}')}}}` }, [200, 400]],
        ['deeply nested unknown field', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: `{"userId":"u1","x":${deep(100_000, '[', ']')}}` }, [400]],
        ['body over the limit (2 MiB)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: 'u1', session: { items: Array.from({ length: 1000 }, () => 'x'.repeat(2000)) } }) }, [413]],
        ['__proto__ key', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"u1","__proto__":{"polluted":true}}' }, [400]],
        ['nested __proto__', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"u1","session":{"context":{"__proto__":{"polluted":true}}}}' }, [400]],
        ['constructor.prototype', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"u1","constructor":{"prototype":{"polluted":true}}}' }, [400]],
        ['prototype key', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"u1","session":{"context":{"prototype":{"polluted":true}}}}' }, [200]],
        ['userId "__proto__"', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: '__proto__', session: { items: ['__proto__', 'constructor', 'toString', 'hasOwnProperty'] }, exclude: ['__proto__'] }) }, [200]],
        ['userId "constructor"', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: 'constructor', candidates: ['constructor', 'valueOf'] }) }, [200]],
        ['wrong types everywhere', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: 5, k: '10', session: [], exclude: {}, candidates: 'a', explain: 'yes' }) }, [400]],
        ['k = 0', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, k: 0 }) }, [400]],
        ['k = 1001', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, k: 1001 }) }, [400]],
        ['k = -1', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, k: -1 }) }, [400]],
        ['k = 2.5', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, k: 2.5 }) }, [400]],
        ['k = 1e400', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: `{"userId":"${user}","k":1e400}` }, [400]],
        ['k = 1000 (the maximum)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, k: 1000 }) }, [200]],
        ['1000 session items (the maximum)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, session: { items: itemIds.slice(0, 1000) } }) }, [200]],
        ['5000 session items', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, session: { items: itemIds.concat(itemIds).slice(0, 5000) } }) }, [400]],
        ['10000 excluded items (the maximum)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, exclude: Array.from({ length: 10_000 }, (_, i) => itemIds[i % itemIds.length]) }) }, [200]],
        ['1000 caller candidates, all unknown', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, candidates: Array.from({ length: 1000 }, (_, i) => `nope-${i}`) }) }, [200]],
        ['userId of 257 characters', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: 'u'.repeat(257) }) }, [400]],
        ['userId of 256 astral characters', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: '😀'.repeat(128) }) }, [200]],
        ['an item id of 500k characters', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: user, session: { items: ['i'.repeat(500_000)] } }) }, [200]],
        ['lone surrogates (escaped)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"\\ud800","session":{"items":["\\udfff","a\\ud83d"]},"exclude":["\\udc00"]}' }, [200]],
        ['lone surrogate bytes (CESU-8)', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: Buffer.concat([Buffer.from('{"userId":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]) }, [200, 400]],
        ['invalid UTF-8 bytes', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: Buffer.concat([Buffer.from('{"userId":"'), Buffer.from([0xc0, 0xaf, 0xff, 0xfe]), Buffer.from('"}')]) }, [200, 400]],
        ['a UTF-8 BOM', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: `\uFEFF${json({ userId: user })}` }, [200, 400]],
        ['NUL in ids', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: 'a\u0000b', session: { items: ['\u0000'] }, candidates: ['\u0000', itemIds[0]] }) }, [200]],
        ['only NUL as userId', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: '\u0000' }) }, [200]],
        ['RTL override and zero-width', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: json({ userId: '\u202Eabc\u200B', session: { items: ['\u200B'] } }) }, [200]],
        ['UTF-16 body', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json; charset=utf-16' }, payload: Buffer.from(json({ userId: user }), 'utf16le') }, [400, 415]],
        ['form body', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'userId=u1' }, [415]],
        ['no content type', { method: 'POST', url: '/v1/rank', payload: json({ userId: user }) }, [200, 400, 415]],
        ['similar: unknown item', { method: 'GET', url: '/v1/similar/no-such-item' }, [404]],
        ['similar: k=0', { method: 'GET', url: `/v1/similar/${encodeURIComponent(itemIds[0])}?k=0` }, [400]],
        ['similar: k=1001', { method: 'GET', url: `/v1/similar/${encodeURIComponent(itemIds[0])}?k=1001` }, [400]],
        ['similar: k=9999', { method: 'GET', url: `/v1/similar/${encodeURIComponent(itemIds[0])}?k=9999` }, [400]],
        ['similar: k=-1', { method: 'GET', url: `/v1/similar/${encodeURIComponent(itemIds[0])}?k=-1` }, [400]],
        ['similar: k=abc', { method: 'GET', url: `/v1/similar/${encodeURIComponent(itemIds[0])}?k=abc` }, [400]],
        ['similar: k=1000', { method: 'GET', url: `/v1/similar/${encodeURIComponent(itemIds[0])}?k=1000` }, [200]],
        ['similar: id of 300 characters', { method: 'GET', url: `/v1/similar/${'x'.repeat(300)}` }, [400, 404, 414]],
        ['similar: id "__proto__"', { method: 'GET', url: '/v1/similar/__proto__' }, [404]],
        ['similar: id "constructor"', { method: 'GET', url: '/v1/similar/constructor?k=3' }, [404]],
        ['similar: traversal id', { method: 'GET', url: '/v1/similar/..%2F..%2Fetc%2Fpasswd' }, [400, 404]],
        ['similar: bad percent-encoding', { method: 'GET', url: '/v1/similar/%E0%A4%A' }, [400, 404]],
        ['similar: lone surrogate percent-encoded', { method: 'GET', url: '/v1/similar/%ED%A0%80' }, [400, 404]],
        ['metrics with a query', { method: 'GET', url: '/metrics?name[]=x' }, [200]],
        ['docs json', { method: 'GET', url: '/docs/json' }, [200]],
        ['readyz', { method: 'GET', url: '/readyz' }, [200]],
        ['DELETE /v1/rank', { method: 'DELETE', url: '/v1/rank' }, [404, 405]],
        ['TRACE /healthz', { method: 'TRACE', url: '/healthz' }, [404, 405]],
        ['reload without a token', { method: 'POST', url: '/admin/reload' }, [401]],
        ['reload with the token in the query', { method: 'POST', url: `/admin/reload?token=${TOKEN}` }, [401]],
        ['reload with a Basic token', { method: 'POST', url: '/admin/reload', headers: { authorization: `Basic ${TOKEN}` } }, [401]],
        ['reload with the right token', { method: 'POST', url: '/admin/reload', headers: { authorization: `Bearer ${TOKEN}` } }, [200]],
        ['reload with a lowercase scheme', { method: 'POST', url: '/admin/reload', headers: { authorization: `bearer ${TOKEN}` } }, [200]],
      ];
      const got: string[] = [];
      for (const [name, req, expected] of cases) {
        const res = await send('corpus', req);
        expect(res, name).not.toBeNull();
        got.push(`${name}: ${res!.statusCode}`);
        expect(expected, `${name} → ${res!.statusCode} ${res!.body.slice(0, 300)}`).toContain(res!.statusCode);
      }
      // A well-formed body refused for its keys says so.
      const proto = await send('corpus', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: '{"userId":"u1","__proto__":{"polluted":true}}' });
      expect(JSON.parse(proto!.body)).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(/forbidden key \(__proto__/) } });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(Object.prototype)).toEqual([]);
      report('fuzz corpus', got.join('; '));
    },
    timeout(60, 120),
  );
});

// ---- raw HTTP over a socket ---------------------------------------------------------------------

/** Writes raw bytes to the server and reads until it closes (or 5 s pass). */
function raw(bytes: string | Buffer, endAfterWrite = false): Promise<string> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(Number(port), hostname, () => {
      s.write(bytes);
      if (endAfterWrite) s.end();
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    }, 5000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(err);
    });
  });
}

describe('raw HTTP over a socket', () => {
  it(
    'malformed requests get a 4xx (or a closed connection), never a 5xx, and the server keeps serving',
    async () => {
      const host = new URL(server.url).host;
      const big = 'x'.repeat(2 * 1024 * 1024);
      const cases: [string, string | Buffer][] = [
        ['garbage request line', 'GARBAGE\r\n\r\n'],
        ['binary junk', Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10])],
        ['HTTP/0.9 style', 'GET /healthz\r\n\r\n'],
        ['header without colon', `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nbroken header\r\n\r\n`],
        ['header of 64 KiB', `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(65_536)}\r\n\r\n`],
        ['10k headers', `GET /healthz HTTP/1.1\r\nHost: ${host}\r\n${Array.from({ length: 10_000 }, (_, i) => `X-H${i}: 1`).join('\r\n')}\r\n\r\n`],
        ['URL of 100 KiB', `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
        ['invalid header byte', Buffer.concat([Buffer.from(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nX-A: a`), Buffer.from([0x00, 0x7f]), Buffer.from('\r\n\r\n')])],
        ['Content-Length over the limit', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`],
        ['chunked body over the limit', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`],
        ['bad chunk size', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`],
        ['both Content-Length and chunked', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`],
        ['negative Content-Length', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}`],
        ['two Content-Lengths', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`],
        ['body shorter than Content-Length, then close', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"userId":`],
        ['request smuggling attempt', `POST /v1/rank HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPOST /admin/reload HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
      ];
      const lines: string[] = [];
      let fiveHundreds = 0;
      for (const [name, bytes] of cases) {
        const text = await raw(bytes, name.includes('then close'));
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
        lines.push(`${name}: ${status ?? 'closed'}`);
        const t = tally('raw HTTP');
        t.cases++;
        if (status) t.byStatus.set(Number(status), (t.byStatus.get(Number(status)) ?? 0) + 1);
        if (status && Number(status) >= 500) fiveHundreds++;
        const body = text.slice(text.indexOf('\r\n\r\n') + 4);
        const found = leaks(body, bytes.toString());
        if (found.length) t.leaked.push(`${found.join(',')}: ${name}`);
        if (status && Number(status) >= 400) {
          const parsed = safeJson(body) as { error?: { code?: unknown; message?: unknown } } | undefined;
          if (typeof parsed?.error?.code !== 'string' || typeof parsed.error.message !== 'string') t.unclear.push(`${name} → ${status} ${body.slice(0, 200)}`);
        }
        expect(status === undefined || Number(status) < 500, `${name}: ${text.slice(0, 300)}`).toBe(true);
        // No smuggled second request reaches the admin route.
        expect(text).not.toMatch(/"status":"(swapped|unchanged)"/);
      }
      report('fuzz raw HTTP', lines.join('; '));
      expect(fiveHundreds).toBe(0);
      // Still serving.
      const ok = await fetch(`${server.url}/v1/rank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: userIds[1] }) });
      expect(ok.status).toBe(200);
    },
    timeout(60, 120),
  );
});

describe('after the fuzzing', () => {
  it(
    'the heap is flat, nothing leaked into an error body, and every count is reported',
    async () => {
      // Heap before and after one more round of the rank property, the heaviest route, after a
      // full GC each time: a leak per request would show as megabytes here.
      const before = heapMb();
      const rssBefore = process.memoryUsage.rss() / 2 ** 20;
      await fc.assert(
        fc.asyncProperty(rankPayload(), async (payload) => {
          await send('POST /v1/rank', { method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload });
        }),
        { numRuns: 1000 * RUNS },
      );
      const after = heapMb();
      const rssAfter = process.memoryUsage.rss() / 2 ** 20;

      let cases = 0;
      let five = 0;
      const rows: string[] = [];
      const unclear: string[] = [];
      const leaked: string[] = [];
      for (const [route, t] of tallies) {
        cases += t.cases;
        five += t.fiveHundreds.length;
        unclear.push(...t.unclear);
        leaked.push(...t.leaked);
        rows.push(`${route} ${t.cases} (${[...t.byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ')})`);
      }
      report(
        'fuzz',
        `cases tried ${cases}, 5xx ${five}, error bodies with internals ${leaked.length}, unclear error bodies ${unclear.length}; ` +
          `heap ${before.toFixed(1)} → ${after.toFixed(1)} MB over the last ${1000 * RUNS} cases, RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB; by route: ${rows.join('; ')}`,
      );
      expect(five).toBe(0);
      expect(leaked).toEqual([]);
      expect(unclear).toEqual([]);
      expect(after - before).toBeLessThan(20);
      // Still healthy.
      expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    },
    timeout(60, 900),
  );
});
