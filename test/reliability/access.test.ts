/**
 * Area 6, access. The admin route needs the bearer token and compares it in constant time; with
 * no token configured it is closed, not open. The server binds to loopback unless told otherwise
 * (the API and the CLI). Bodies, k and id lists have limits, refused with a message naming the
 * field. Errors never carry a stack trace or a host path, not even a 500 from a failing version,
 * and nothing served (docs, metrics, errors) echoes the token.
 *
 * Constant time, by inspection of ranker/adminAuth.ts: tokensMatch hashes both the given and the
 * expected token with SHA-256 and compares the two 32-byte digests with crypto.timingSafeEqual, so
 * the comparison takes the same time whatever the inputs' lengths and wherever they first differ;
 * the Bearer header is parsed by a regex whose work depends only on the given header. The test
 * below pins that structure (it fails if tokensMatch stops using timingSafeEqual or starts
 * comparing with ==), and the behaviour; it does not time anything.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/buildIndex.js';
import { ADMIN_TOKEN_ENV, resolveAdminToken, tokensMatch } from '../../ranker/adminAuth.js';
import { buildRankerApp } from '../../ranker/app.js';
import { serve, type RunningRanker } from '../../ranker/serve.js';
import { VersionHolder } from '../../ranker/versionHolder.js';
import { MAX_CALLER_CANDIDATES, MAX_EXCLUDE, MAX_K, MAX_SESSION_ITEMS } from '../../ranker/schemas.js';
import { silentLogger } from '../../shared/log.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { cli, sharedFixture } from '../indexer/fixture.js';
import { leaks, report, ROOT } from './helpers.js';

const TOKEN = 'access-test-token-5f1e2d3c4b5a';
let root: string;
let store: string;
let version: string;
let server: RunningRanker;

beforeAll(async () => {
  const fx = await sharedFixture();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-rel-access-'));
  store = path.join(root, 'store');
  version = (await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger })).version;
  server = await serve({ store, port: 0, logger: false, adminToken: TOKEN, watch: false, processMetrics: true });
});

afterAll(async () => {
  await server?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const lines: string[] = [];

async function reload(app: RunningRanker['app'], authorization?: string) {
  return app.inject({ method: 'POST', url: '/admin/reload', headers: authorization === undefined ? {} : { authorization } });
}

describe('the admin route', () => {
  it('lets in the exact bearer token only, and says how to authenticate', async () => {
    const refused: [string, string | undefined][] = [
      ['no header', undefined],
      ['empty', ''],
      ['scheme only', 'Bearer'],
      ['scheme and space', 'Bearer '],
      ['wrong token', 'Bearer nope'],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
      ['the token and one more character', `Bearer ${TOKEN}0`],
      ['the token in another case', `Bearer ${TOKEN.toUpperCase()}`],
      ['the token after other words', `Bearer x ${TOKEN}`],
      ['the token and other words', `Bearer ${TOKEN} x`],
      ['the token without a scheme', TOKEN],
      ['Basic with the token', `Basic ${TOKEN}`],
      ['Basic with user:token', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`],
      ['a very long token', `Bearer ${'t'.repeat(8000)}`],
    ];
    for (const [name, authorization] of refused) {
      const res = await reload(server.app, authorization);
      expect(res.statusCode, name).toBe(401);
      expect(res.headers['www-authenticate'], name).toMatch(/^Bearer /);
      expect(JSON.parse(res.body), name).toEqual({ error: { code: 'UNAUTHORIZED', message: 'a valid bearer token is required' } });
    }
    // The token elsewhere in the request does not count.
    const inQuery = await server.app.inject({ method: 'POST', url: `/admin/reload?token=${TOKEN}&access_token=${TOKEN}` });
    expect(inQuery.statusCode).toBe(401);
    const inBody = await server.app.inject({ method: 'POST', url: '/admin/reload', payload: { token: TOKEN } });
    expect(inBody.statusCode).toBe(401);
    for (const ok of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER  ${TOKEN} `, `Bearer\t${TOKEN}`]) {
      const res = await reload(server.app, ok);
      expect(res.statusCode, ok).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ status: 'unchanged', indexVersion: version });
    }
    lines.push(`admin: ${refused.length + 2} wrong credentials → 401, 4 spellings of the right one → 200`);
  });

  it('over a real socket too, and the refusal never echoes what was sent', async () => {
    const wrong = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(TOKEN);
    const right = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
  });

  it('is closed (403) when no token is configured, whatever is sent', async () => {
    expect(resolveAdminToken(undefined, {})).toBeNull();
    expect(resolveAdminToken('', { [ADMIN_TOKEN_ENV]: 'from-env' })).toBeNull();
    expect(resolveAdminToken(undefined, { [ADMIN_TOKEN_ENV]: '' })).toBeNull();
    expect(resolveAdminToken(undefined, { [ADMIN_TOKEN_ENV]: 'from-env' })).toBe('from-env');
    const saved = process.env[ADMIN_TOKEN_ENV];
    delete process.env[ADMIN_TOKEN_ENV];
    const closed = await serve({ store, port: 0, logger: false, watch: false, processMetrics: false });
    try {
      for (const authorization of [undefined, '', 'Bearer ', 'Bearer null', 'Bearer undefined', `Bearer ${TOKEN}`]) {
        const res = await reload(closed.app, authorization);
        expect(res.statusCode, String(authorization)).toBe(403);
        expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
      }
    } finally {
      await closed.close();
      if (saved !== undefined) process.env[ADMIN_TOKEN_ENV] = saved;
    }
    lines.push('admin without a configured token: 403 for every header tried');
  });

  it('compares tokens with timingSafeEqual over fixed-length digests (structure pinned, behaviour checked)', async () => {
    const source = await fs.readFile(path.join(ROOT, 'ranker', 'adminAuth.ts'), 'utf8');
    const body = /export function tokensMatch\([^)]*\): boolean \{([\s\S]*?)\n\}/.exec(source)?.[1];
    expect(body, 'tokensMatch not found in ranker/adminAuth.ts').toBeDefined();
    expect(body).toMatch(/timingSafeEqual\(/);
    expect(body).toMatch(/createHash\('sha256'\)/);
    expect(body).not.toMatch(/[!=]==?/);
    expect(tokensMatch(TOKEN, TOKEN)).toBe(true);
    for (const other of ['', 'a', TOKEN.slice(0, -1), `${TOKEN}a`, TOKEN.toUpperCase(), `${TOKEN.slice(0, -1)}X`, 'x'.repeat(10_000)]) {
      expect(tokensMatch(other, TOKEN), other.slice(0, 20)).toBe(false);
    }
  });
});

describe('where the server listens', () => {
  function externalAddress(): string | null {
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
    return null;
  }

  function connects(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.setTimeout(2000, () => {
        s.destroy();
        resolve(false);
      });
    });
  }

  it('binds to 127.0.0.1 unless told otherwise, in the API and in the CLI', async () => {
    const address = server.app.server.address();
    expect(address).toMatchObject({ address: '127.0.0.1' });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const port = (address as net.AddressInfo).port;
    const ext = externalAddress();
    if (ext) expect(await connects(ext, port), `reachable on ${ext}`).toBe(false);

    const open = await serve({ store, port: 0, host: '0.0.0.0', logger: false, watch: false, processMetrics: false });
    try {
      expect(open.app.server.address()).toMatchObject({ address: '0.0.0.0' });
      if (ext) expect(await connects(ext, (open.app.server.address() as net.AddressInfo).port)).toBe(true);
    } finally {
      await open.close();
    }

    const help = await cli(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--host <h>\s+address to bind \(default: "127\.0\.0\.1"\)/);
    lines.push(`bind: default 127.0.0.1 (${ext ? `not reachable on ${ext}` : 'no external interface to try'}), 0.0.0.0 only when asked; CLI --host defaults to 127.0.0.1`);
  });
});

describe('limits', () => {
  const rank = (body: unknown) => server.app.inject({ method: 'POST', url: '/v1/rank', payload: body as object });
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);

  it('body size, k and every list have a limit, refused with a message naming the field', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      [`k = ${MAX_K}`, { userId: 'u1', k: MAX_K }, 200, /./],
      [`k = ${MAX_K + 1}`, { userId: 'u1', k: MAX_K + 1 }, 400, /body\/k must be <= 1000/],
      ['k = 0', { userId: 'u1', k: 0 }, 400, /body\/k must be >= 1/],
      [`${MAX_SESSION_ITEMS} session items`, { userId: 'u1', session: { items: ids(MAX_SESSION_ITEMS) } }, 200, /./],
      [`${MAX_SESSION_ITEMS + 1} session items`, { userId: 'u1', session: { items: ids(MAX_SESSION_ITEMS + 1) } }, 400, /body\/session\/items must NOT have more than 1000 items/],
      [`${MAX_EXCLUDE + 1} excluded`, { userId: 'u1', exclude: ids(MAX_EXCLUDE + 1) }, 400, /body\/exclude must NOT have more than 10000 items/],
      [`${MAX_CALLER_CANDIDATES + 1} candidates`, { userId: 'u1', candidates: ids(MAX_CALLER_CANDIDATES + 1) }, 400, /body\/candidates must NOT have more than 1000 items/],
      ['userId of 257', { userId: 'u'.repeat(257) }, 400, /body\/userId must NOT have more than 256 characters/],
    ];
    for (const [name, body, status, message] of cases) {
      const res = await rank(body);
      expect(res.statusCode, `${name}: ${res.body.slice(0, 200)}`).toBe(status);
      if (status !== 200) expect((JSON.parse(res.body) as { error: { message: string } }).error.message, name).toMatch(message);
    }
    // Just under and just over the 1 MiB body limit.
    const pad = (bytes: number) => JSON.stringify({ userId: 'u1', session: { context: { pad: 'x'.repeat(bytes) } } });
    const under = pad(1024 * 1024 - 100);
    expect(Buffer.byteLength(under)).toBeLessThanOrEqual(1024 * 1024);
    expect((await server.app.inject({ method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: under })).statusCode).toBe(200);
    const over = await server.app.inject({ method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: pad(1024 * 1024) });
    expect(over.statusCode).toBe(413);
    expect(JSON.parse(over.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    // Over a socket, a declared length over the limit is refused before the body is read.
    const big = await fetch(`${server.url}/v1/rank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: pad(4 * 1024 * 1024) });
    expect(big.status).toBe(413);
    for (const [q, status] of [['?k=1000', 200], ['?k=1001', 400], ['?k=0', 400], ['?k=-1', 400]] as const) {
      const first = server.versions.get()!.itemIds[0];
      const res = await server.app.inject({ method: 'GET', url: `/v1/similar/${encodeURIComponent(first)}${q}` });
      expect(res.statusCode, q).toBe(status);
    }
    lines.push(`limits: body 1 MiB (413), k 1..${MAX_K}, session ${MAX_SESSION_ITEMS}, exclude ${MAX_EXCLUDE}, candidates ${MAX_CALLER_CANDIDATES}, userId 256 characters, similar k 1..${MAX_K}`);
  });
});

describe('what errors and public routes reveal', () => {
  it('an internal error is a 500 with a fixed message: no stack, no path, no message from inside', async () => {
    const real = await loadVersion(store);
    // A version whose every lookup throws an error full of internals, as a bug deep inside would.
    const secret = new Error(`ENOENT: no such file or directory, open '${root}/secret.bin'\n    at Object.openSync (node:fs:573:3)\n    at load (/work/main/shared/x.ts:12:3)`);
    const poisoned = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'itemIndex' || prop === 'candidates' || prop === 'users' || prop === 'itemIds') throw secret;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as LoadedVersion;
    const { app } = buildRankerApp({ versions: new VersionHolder(poisoned), logger: false });
    try {
      const answers = [
        await app.inject({ method: 'GET', url: `/v1/similar/${encodeURIComponent(real.itemIds[0])}` }),
        await app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 'u1', session: { items: [real.itemIds[0]] } } }),
        await app.inject({ method: 'POST', url: '/v1/rank', payload: { userId: 'u1', candidates: [real.itemIds[0]] } }),
      ];
      for (const res of answers) {
        expect([200, 500]).toContain(res.statusCode);
        expect(leaks(res.body, '')).toEqual([]);
        expect(res.body).not.toContain('secret');
        if (res.statusCode === 500) expect(JSON.parse(res.body)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
      }
      expect(answers.some((r) => r.statusCode === 500)).toBe(true);
      lines.push(`internal errors: ${answers.map((r) => r.statusCode).join(', ')} with {code: INTERNAL, message: 'internal error'} only`);
    } finally {
      await app.close();
      await real.close();
    }
  });

  it('docs, metrics and headers reveal neither the token nor the host layout', async () => {
    for (const url of ['/docs/json', '/metrics', '/healthz', '/readyz']) {
      const res = await server.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).not.toContain(TOKEN);
      expect(res.body, url).not.toContain(root);
      for (const m of ['/work', '.ts:', '.js:']) expect(res.body, `${url} contains ${m}`).not.toContain(m);
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers.server).toBeUndefined();
    }
    const notFound = await server.app.inject({ method: 'GET', url: '/nope' });
    expect(leaks(notFound.body, '')).toEqual([]);
  });

  it('reports', () => {
    report('access', lines.join('; '));
    expect(lines.length).toBeGreaterThanOrEqual(5);
  });
});
