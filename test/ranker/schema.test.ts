import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildRankerApp } from '../../ranker/app.js';
import { VersionHolder } from '../../ranker/versionHolder.js';

// Validation runs before the handler, so these need no loaded version.
let app: FastifyInstance;
beforeAll(async () => {
  app = buildRankerApp({ versions: new VersionHolder() }).app;
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

async function rankRaw(payload: string, contentType = 'application/json') {
  return app.inject({ method: 'POST', url: '/v1/rank', payload, headers: { 'content-type': contentType } });
}

function expectBadRequest(res: { statusCode: number; json(): unknown; body: string }, field: string): void {
  expect(res.statusCode).toBe(400);
  const body = res.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe('BAD_REQUEST');
  expect(body.error.message).toContain(field);
  expect(res.body).not.toMatch(/at .*\.(js|ts):\d+|\/work\//);
}

describe('POST /v1/rank validation', () => {
  const cases: Array<[string, unknown, string]> = [
    ['missing userId', { k: 5 }, 'body/userId'],
    ['empty userId', { userId: '' }, 'body/userId'],
    ['userId too long', { userId: 'u'.repeat(257) }, 'body/userId'],
    ['k = 0', { userId: 'u1', k: 0 }, 'body/k'],
    ['k = 1001', { userId: 'u1', k: 1001 }, 'body/k'],
    ['k as a string', { userId: 'u1', k: '5' }, 'body/k'],
    ['k not an integer', { userId: 'u1', k: 2.5 }, 'body/k'],
    ['session.items not an array', { userId: 'u1', session: { items: 'i1' } }, 'body/session/items'],
    ['session.items holding a number', { userId: 'u1', session: { items: ['i1', 7] } }, 'body/session/items/1'],
    ['too many session items', { userId: 'u1', session: { items: Array(1001).fill('i') } }, 'body/session/items'],
    ['exclude not an array', { userId: 'u1', exclude: 'i1' }, 'body/exclude'],
    ['extra unknown field', { userId: 'u1', kk: 3 }, 'body/kk'],
    ['unknown field inside session', { userId: 'u1', session: { item: ['i1'] } }, 'body/session/item'],
    ['a JSON array body', ['u1'], 'body'],
  ];
  for (const [name, body, field] of cases) {
    it(`${name} → 400 naming ${field}`, async () => {
      expectBadRequest(await rankRaw(JSON.stringify(body)), field);
    });
  }

  it('k = 1001 says what the limit is', async () => {
    const res = await rankRaw(JSON.stringify({ userId: 'u1', k: 1001 }));
    expect((res.json() as { error: { message: string } }).error.message).toBe('body/k must be <= 1000');
  });

  it('malformed JSON → 400, not 500', async () => {
    const res = await rankRaw('{"userId": "u1",');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('an empty JSON body → 400', async () => {
    const res = await rankRaw('');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('a prototype-poisoning body → 400', async () => {
    const res = await rankRaw('{"userId": "u1", "__proto__": {"k": 5}}');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'BAD_REQUEST' } });
  });

  it('text/plain → 415 in the error shape', async () => {
    const res = await rankRaw('{"userId": "u1"}', 'text/plain');
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('an unknown media type → 415 in the error shape', async () => {
    const res = await rankRaw('<rank/>', 'application/xml');
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
  });

  it('a body over the limit → 413 in the error shape', async () => {
    const small = buildRankerApp({ versions: new VersionHolder(), bodyLimit: 1000 }).app;
    try {
      const res = await small.inject({
        method: 'POST',
        url: '/v1/rank',
        payload: { userId: 'u1', exclude: Array(200).fill('item-id') },
      });
      expect(res.statusCode).toBe(413);
      expect(res.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    } finally {
      await small.close();
    }
  });

  it('a valid body without a loaded version → 503, not 500', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 'u1', k: 3 } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: { code: 'NOT_READY', message: 'no index version is loaded' } });
  });
});

describe('health routes', () => {
  it('healthz is ok whether or not a version is loaded', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('readyz is 503 without a version', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_READY' } });
  });

  it('an unknown route → 404 in the error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/v2/nothing?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /v2/nothing' } });
  });
});
