/**
 * A served version runs its user tower and its HNSW search in threads of their own. When one of
 * them stops unasked (a crash, an out-of-memory worker), the ranker must say so once (log and
 * /metrics), keep answering (a live retrieval degrades to popularity), and not hang or report it
 * again on close. The threads are ended here from outside, as a crash would end them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningRanker } from '../../ranker/serve.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { buildFixture, type RankerFixture } from './fixture.js';
import { parsePrometheusText } from './prometheusText.js';
import { waitFor } from '../reliability/helpers.js';

let fx: RankerFixture;

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

  describe('in the running ranker', () => {
    let server: RunningRanker;
    beforeAll(async () => {
      server = await serve({ store: fx.store, port: 0, logger: false, watch: false, processMetrics: false });
    });
    afterAll(async () => {
      await server?.close();
    });

    const deaths = async (thread: string) => parsePrometheusText(await server.metrics.render()).value('twotower_version_thread_deaths_total', { thread });
    const rankCold = async () => {
      const res = await fetch(`${server.url}/v1/rank`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'someone-new', k: 5, session: { items: [fx.world.items[3].itemId] } }),
      });
      return { status: res.status, body: (await res.json()) as { source: string; degraded: boolean; degradedReason?: string; items: unknown[] } };
    };

    it('counts the death, and a live retrieval answers from popularity, degraded', async () => {
      const before = await rankCold();
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ source: 'cold_start', degraded: false });
      expect(await deaths('model')).toBe(0);

      const version = server.versions.get()!;
      await crash(version, 'model');
      await waitFor('the model thread death to be counted', async () => (await deaths('model')) === 1, 5000);
      const after = await rankCold();
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ source: 'popular', degraded: true, degradedReason: 'retrieval_failed' });
      expect(after.body.items.length).toBe(5);
      expect(await deaths('index')).toBe(0);
      expect(await deaths('scoring')).toBe(0);
    });

    it('without its index thread, similar items answer 500 without internals, and the rest still serves', async () => {
      const item = fx.world.items[7].itemId;
      expect((await fetch(`${server.url}/v1/similar/${item}?k=3`)).status).toBe(200);
      await crash(server.versions.get()!, 'index');
      await waitFor('the index thread death to be counted', async () => (await deaths('index')) === 1, 5000);
      const res = await fetch(`${server.url}/v1/similar/${item}?k=3`);
      expect(res.status).toBe(500);
      expect(await res.text()).not.toMatch(/hnsw|\/tmp|worker/);
      const known = fx.knownUserId;
      const ranked = await fetch(`${server.url}/v1/rank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: known, k: 5 }) });
      expect(ranked.status).toBe(200);
      expect(await ranked.json()).toMatchObject({ source: 'precomputed', degraded: false });
    });
  });
});
