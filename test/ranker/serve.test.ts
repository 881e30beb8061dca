/**
 * The running service over a real socket: what a load balancer and an operator see. Hot swap,
 * refusal of a damaged version and shedding are exercised under live traffic; nothing here
 * asserts on latency (speed is the benchmark's job).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningRanker } from '../../ranker/serve.js';
import { flipCurrent } from '../../shared/store/versionStore.js';
import { buildFixture, currentId, publish, publishCorrupt, type Corruption, type RankerFixture } from './fixture.js';
import { parsePrometheusText } from './prometheusText.js';
import { rawBurst } from './rawBurst.js';

const TOKEN = 'test-admin-token';
let fx: RankerFixture;
let server: RunningRanker;
let itemIds: string[];
let userIds: string[];

beforeAll(async () => {
  fx = await buildFixture({ seed: 5 });
  server = await serve({ store: fx.store, port: 0, logger: false, adminToken: TOKEN, pollMs: 200, processMetrics: true });
  itemIds = fx.world.items.map((i) => i.itemId);
  userIds = [...new Set(fx.world.interactions.map((r) => r.userId))];
});

afterAll(async () => {
  await server?.close();
  await fx?.cleanup();
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function metrics(base: string) {
  return parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface LoadResult {
  statuses: Map<number, number>;
  versions: Map<string, number>;
  errors: string[];
  total: number;
}

/** Keeps `concurrency` requests in flight, realistic bodies, until stopped. */
function continuousLoad(base: string, concurrency: number) {
  const result: LoadResult = { statuses: new Map(), versions: new Map(), errors: [], total: 0 };
  let stopping = false;
  let n = 0;
  const worker = async () => {
    while (!stopping) {
      const i = n++;
      const body = {
        userId: userIds[i % userIds.length],
        k: 20,
        session: { items: [0, 1, 2, 3, 4].map((j) => itemIds[(i * 7 + j * 131) % itemIds.length]) },
      };
      try {
        const res = await post(`${base}/v1/rank`, body);
        const json = (await res.json()) as { indexVersion?: string };
        result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1);
        if (json.indexVersion) result.versions.set(json.indexVersion, (result.versions.get(json.indexVersion) ?? 0) + 1);
      } catch (err) {
        result.errors.push((err as Error).message);
      }
      result.total++;
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    result,
    async stop(): Promise<LoadResult> {
      stopping = true;
      await Promise.all(workers);
      return result;
    },
  };
}

describe('over a real socket', () => {
  it('ranks, with the same contract as inject', async () => {
    const res = await post(`${server.url}/v1/rank`, { userId: userIds[0], k: 5, explain: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const json = (await res.json()) as { items: Array<{ features?: object }>; indexVersion: string; source: string };
    expect(json.items).toHaveLength(5);
    expect(json.items[0].features).toBeDefined();
    expect(json.indexVersion).toBe(fx.versionId);
  });

  it('a schema error names the field and is not a 500', async () => {
    const res = await post(`${server.url}/v1/rank`, { userId: 'u', k: 'ten' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'BAD_REQUEST', message: 'body/k must be integer' } });
  });

  it('similar items and /docs/json answer', async () => {
    const sim = await fetch(`${server.url}/v1/similar/${encodeURIComponent(itemIds[3])}?k=4`);
    expect(sim.status).toBe(200);
    expect(((await sim.json()) as { items: unknown[] }).items).toHaveLength(4);
    const missing = await fetch(`${server.url}/v1/similar/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await fetch(`${server.url}/docs/json`)).status).toBe(200);
  });

  it('/metrics parses as Prometheus text, process metrics included', async () => {
    const before = (await metrics(server.url)).value('twotower_scoring_batch_requests_sum', {});
    expect((await post(`${server.url}/v1/rank`, { userId: userIds[1], k: 3 })).status).toBe(200);
    const m = await metrics(server.url);
    // The request went through the scoring worker, in a batch that the metrics saw.
    expect(m.value('twotower_scoring_batch_requests_sum', {})).toBe(before + 1);
    expect(m.value('twotower_scoring_batch_seconds_count', {})).toBeGreaterThan(0);
    expect(m.types.get('twotower_scoring_batch_seconds')).toBe('histogram');
    expect(m.value('twotower_index_info', { index_version: fx.versionId, model_version: server.versions.get()!.model.modelVersion })).toBe(1);
    expect(m.has('twotower_process_cpu_seconds_total')).toBe(true);
  });

  it('the admin route rejects a missing or wrong token and reloads with the right one', async () => {
    expect((await fetch(`${server.url}/admin/reload`, { method: 'POST' })).status).toBe(401);
    const wrong = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const ok = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'unchanged', indexVersion: fx.versionId });
  });
});

describe('hot swap', () => {
  it('a new version published under continuous load drops no request and changes indexVersion', async () => {
    const before = server.versions.get()!;
    const load = continuousLoad(server.url, 8);
    await waitFor('traffic', () => load.result.total > 50);
    // Built in this process: the build competes with the server for the event loop, as a worse
    // case than a separate indexer would be.
    const next = await publish(fx);
    await waitFor('the new version to serve', () => (load.result.versions.get(next) ?? 0) > 50);
    const result = await load.stop();

    expect(result.errors).toEqual([]);
    expect([...result.statuses.keys()]).toEqual([200]);
    expect(result.versions.get(fx.versionId)).toBeGreaterThan(0);
    expect(server.versions.get()!.id).toBe(next);
    // The old version is closed once its last request is done.
    await waitFor('the old version to close', () => server.versions.retiring === 0);
    expect(server.versions.leases(before)).toBe(0);
    const m = await metrics(server.url);
    expect(m.value('twotower_version_loads_total', { outcome: 'swapped' })).toBe(1);
    expect(m.value('twotower_index_info', { index_version: next, model_version: before.model.modelVersion })).toBe(1);
  });

  it.each<[Corruption]>([['ranker_onnx'], ['hnsw_truncated']])(
    'a version with a corrupt %s is refused while the old one keeps serving',
    async (how) => {
      const good = server.versions.get()!.id;
      const refusedBefore = (await metrics(server.url)).value('twotower_version_loads_total', { outcome: 'refused' });
      const load = continuousLoad(server.url, 4);
      const bad = await publishCorrupt(fx.store, good, how);
      expect(await currentId(fx.store)).toBe(bad);
      await waitFor('the refusal', async () => {
        const m = await metrics(server.url);
        return m.value('twotower_version_loads_total', { outcome: 'refused' }) > refusedBefore;
      });
      const admin = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(admin.status).toBe(409);
      const err = (await admin.json()) as { error: { code: string; message: string } };
      expect(err.error.code).toBe('VERSION_REFUSED');
      expect(err.error.message).toContain(bad);
      const result = await load.stop();

      expect(result.errors).toEqual([]);
      expect([...result.statuses.keys()]).toEqual([200]);
      expect([...result.versions.keys()]).toEqual([good]);
      expect(server.versions.get()!.id).toBe(good);
      const ready = await fetch(`${server.url}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ready', indexVersion: good });
      // Rolling CURRENT back to the serving version settles the store without another swap.
      await flipCurrent(fx.store, good);
      const again = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await again.json()).toEqual({ status: 'unchanged', indexVersion: good });
    },
  );
});

describe('rollback', () => {
  it('flipping CURRENT back to the first version swaps back under load', async () => {
    const serving = server.versions.get()!.id;
    expect(serving).not.toBe(fx.versionId);
    const load = continuousLoad(server.url, 4);
    await waitFor('traffic', () => load.result.total > 20);
    await flipCurrent(fx.store, fx.versionId);
    await waitFor('the first version to serve again', () => (load.result.versions.get(fx.versionId) ?? 0) > 20);
    const result = await load.stop();
    expect(result.errors).toEqual([]);
    expect([...result.statuses.keys()]).toEqual([200]);
    expect(server.versions.get()!.id).toBe(fx.versionId);
    await waitFor('the replaced version to close', () => server.versions.retiring === 0);
  });
});

describe('load shedding', () => {
  it('a burst beyond the in-flight limit gets fast 503s and the service then recovers', async () => {
    const tiny = await serve({ store: fx.store, port: 0, logger: false, maxInFlight: 2, watch: false });
    try {
      const bodies = Array.from({ length: 200 }, (_, i) => ({ userId: `cold-${i}`, k: 20, session: { items: [itemIds[i]] } }));
      const connections = () =>
        new Promise<number>((resolve, reject) => tiny.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
      const burst = (await rawBurst(tiny.url, '/v1/rank', bodies, connections)).map((r) => ({
        status: r.status,
        retryAfter: r.headers['retry-after'],
        body: JSON.parse(r.body) as unknown,
      }));
      const statuses = new Set(burst.map((r) => r.status));
      expect([...statuses].every((s) => s === 200 || s === 503)).toBe(true);
      const shed = burst.filter((r) => r.status === 503);
      expect(shed.length).toBeGreaterThan(0);
      expect(burst.some((r) => r.status === 200)).toBe(true);
      expect(shed[0].retryAfter).toBe('1');
      expect(shed[0].body).toMatchObject({ error: { code: 'OVERLOADED' } });

      for (let i = 0; i < 20; i++) {
        const res = await post(`${tiny.url}/v1/rank`, { userId: userIds[i], k: 20 });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      const m = await metrics(tiny.url);
      expect(m.value('twotower_shed_total', { route: '/v1/rank' })).toBe(shed.length);
      expect(m.value('twotower_in_flight_requests', {})).toBe(0);
    } finally {
      await tiny.close();
    }
  });
});
