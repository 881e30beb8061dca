/**
 * A served version runs its user tower and its HNSW search in threads of their own. When one of
 * them stops unasked (a crash, an out-of-memory worker), the version must say so once, keep
 * answering (a live retrieval degrades to popularity), and the running ranker must put a fresh
 * copy of the version in service, though not over and over. The threads are ended here from
 * outside, as a crash would end them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRankerApp } from '../../ranker/app.js';
import { serve, type RunningRanker } from '../../ranker/serve.js';
import { VersionHolder } from '../../ranker/versionHolder.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { buildFixture, type RankerFixture } from './fixture.js';
import { parsePrometheusText } from './prometheusText.js';
import { waitFor } from '../reliability/helpers.js';

let fx: RankerFixture;
/** Shorter than serve's 30 s default, so that a deferred replacement happens within the test. */
const REPLACE_INTERVAL_MS = 3000;

beforeAll(async () => {
  fx = await buildFixture({ seed: 9, items: 800, users: 300 });
});
afterAll(async () => {
  await fx?.cleanup();
});

/** Ends a version's model or index thread at once, as a crash would. */
function crash(version: LoadedVersion, thread: 'model' | 'index'): Promise<number> {
  const holder = (thread === 'model' ? version.model : version.index) as unknown as { client: { terminate(): Promise<number> } };
  return holder.client.terminate();
}

const coldBody = () => ({ userId: 'someone-new', k: 5, session: { items: [fx.world.items[3].itemId] } });

describe('a version thread that stops unasked', () => {
  it('is reported once, with the thread it was; a close is not reported', async () => {
    const deaths: [string, string][] = [];
    const onThreadDeath = (thread: string, err: Error) => deaths.push([thread, err.message]);

    const calm = await loadVersion(fx.store, undefined, { onThreadDeath });
    await calm.close();
    expect(deaths).toEqual([]);

    const v = await loadVersion(fx.store, undefined, { onThreadDeath });
    const query = v.embeddings.slice(0, v.dim);
    expect((await v.index.search(query, 3)).labels.length).toBe(3);
    await crash(v, 'index');
    await waitFor('the index thread death to be reported', () => deaths.length === 1, 5000);
    expect(deaths[0][0]).toBe('index');
    expect(deaths[0][1]).toMatch(/^index worker of versions\/v\S+\/hnsw\.bin exited \(code 1\)$/);
    await expect(v.index.search(query, 3)).rejects.toThrow(deaths[0][1]);

    await crash(v, 'model');
    await waitFor('the model thread death to be reported', () => deaths.length === 2, 5000);
    expect(deaths[1][0]).toBe('model');
    expect(deaths[1][1]).toMatch(/^model worker of model m-[0-9a-f]+ exited \(code 1\)$/);
    await expect(v.model.embedUsers([{ userId: null, user: null, history: [] }])).rejects.toThrow(deaths[1][1]);

    await v.close();
    expect(deaths.length).toBe(2);
  });

  it('leaves the version answering: live retrieval from popularity (degraded), similar items 500 without internals', async () => {
    const version = await loadVersion(fx.store);
    const { app } = buildRankerApp({ versions: new VersionHolder(version), logger: false, budgetMs: null });
    try {
      const rank = async (body: unknown) => {
        const res = await app.inject({ method: 'POST', url: '/v1/rank', payload: body as Record<string, unknown> });
        return { status: res.statusCode, body: res.json() as { source: string; degraded: boolean; degradedReason?: string; items: unknown[] } };
      };
      expect((await rank(coldBody())).body).toMatchObject({ source: 'cold_start', degraded: false });

      await crash(version, 'model');
      await waitFor('the model thread to be gone', async () => (await rank(coldBody())).body.degraded, 5000);
      const after = await rank(coldBody());
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ source: 'popular', degraded: true, degradedReason: 'retrieval_failed' });
      expect(after.body.items.length).toBe(5);

      const item = fx.world.items[7].itemId;
      expect((await app.inject({ method: 'GET', url: `/v1/similar/${item}?k=3` })).statusCode).toBe(200);
      await crash(version, 'index');
      await waitFor('the index thread to be gone', async () => (await app.inject({ method: 'GET', url: `/v1/similar/${item}?k=3` })).statusCode !== 200, 5000);
      const similar = await app.inject({ method: 'GET', url: `/v1/similar/${item}?k=3` });
      expect(similar.statusCode).toBe(500);
      expect(similar.body).not.toMatch(/hnsw|\/tmp|worker/);
      // A user with a precomputed list still gets it: in retrieval order, since without a scoring
      // worker (none is attached here) the ranker runs in the model thread too.
      const known = await rank({ userId: fx.knownUserId, k: 5 });
      expect(known.status).toBe(200);
      expect(known.body).toMatchObject({ source: 'precomputed', degraded: true, degradedReason: 'ranker_failed' });
      expect(known.body.items.length).toBe(5);
    } finally {
      await app.close();
      await version.close();
    }
  });

  describe('in the running ranker', () => {
    let server: RunningRanker;
    beforeAll(async () => {
      server = await serve({ store: fx.store, port: 0, logger: false, watch: false, processMetrics: false, replaceIntervalMs: REPLACE_INTERVAL_MS });
    });
    afterAll(async () => {
      await server?.close();
    });

    const metric = async (name: string, labels: Record<string, string>) => parsePrometheusText(await server.metrics.render()).value(name, labels);

    it('counts the death and serves a fresh copy of the version; a second death is replaced once the interval is up', async () => {
      const crashed = server.versions.get()!;
      expect(await metric('twotower_version_thread_deaths_total', { thread: 'model' })).toBe(0);
      await crash(crashed, 'model');
      await waitFor('a fresh copy of the version to serve', () => server.versions.get() !== crashed, 10_000);
      const fresh = server.versions.get()!;
      expect(fresh.id).toBe(crashed.id);
      expect(await metric('twotower_version_thread_deaths_total', { thread: 'model' })).toBe(1);
      expect(await metric('twotower_version_loads_total', { outcome: 'swapped' })).toBe(1);
      const res = await fetch(`${server.url}/v1/rank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(coldBody()) });
      expect(await res.json()).toMatchObject({ source: 'cold_start', degraded: false, indexVersion: crashed.id });

      // A second death soon after is counted at once, but replaced only when the interval is up.
      await crash(fresh, 'index');
      await waitFor('the second death to be counted', async () => (await metric('twotower_version_thread_deaths_total', { thread: 'index' })) === 1, 5000);
      await new Promise((r) => setTimeout(r, 500));
      expect(server.versions.get()).toBe(fresh);
      expect(await metric('twotower_version_loads_total', { outcome: 'swapped' })).toBe(1);
      await waitFor('the second fresh copy to serve', () => server.versions.get() !== fresh, REPLACE_INTERVAL_MS + 10_000);
      expect(server.versions.get()?.id).toBe(crashed.id);
      expect(await metric('twotower_version_loads_total', { outcome: 'swapped' })).toBe(2);
      const similar = await fetch(`${server.url}/v1/similar/${fx.world.items[7].itemId}?k=3`);
      expect(similar.status).toBe(200);
    });
  });
});
