/**
 * The precomputed path answers without reading the user store (the indexer wrote each list
 * without the user's history); every path that does need the user still looks them up and
 * drops their history. These pin both halves, and the indexer invariant the first relies on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rank } from '../../ranker/pipeline/rank.js';
import type { RankRequest } from '../../ranker/pipeline/types.js';
import { warmVersion } from '../../ranker/warm.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { KnownUser, LoadedVersion } from '../../shared/store/types.js';
import { buildFixture, type RankerFixture } from './fixture.js';

let fx: RankerFixture;
let version: LoadedVersion;
let lookups: string[];
const log = { warn() {} };

beforeAll(async () => {
  fx = await buildFixture({ seed: 5 });
  const loaded = await loadVersion(fx.store);
  await warmVersion(loaded);
  lookups = [];
  const users = loaded.users;
  version = { ...loaded, users: { get: (id: string): KnownUser | null => (lookups.push(id), users.get(id)) } };
});

afterAll(async () => {
  await version?.close();
  await fx?.cleanup();
});

const request = (r: Partial<RankRequest> & { userId: string }): RankRequest => ({ k: 10, sessionItems: [], exclude: [], ...r });

function historyIds(userId: string): Set<string> {
  return new Set(version.users.get(userId)?.history ?? []);
}

describe('user lookup', () => {
  it('precomputed lists hold none of the user history the store keeps (what skipping the lookup relies on)', () => {
    let checked = 0;
    for (const userId of new Set(fx.world.interactions.map((r) => r.userId))) {
      const pre = version.candidates.get(userId);
      if (!pre) continue;
      const seen = historyIds(userId);
      for (const i of pre.items) expect(seen.has(version.itemIds[i])).toBe(false);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('answers from the precomputed list without reading the user store, still dropping session and exclude', async () => {
    const userId = fx.knownUserId;
    const pre = version.candidates.get(userId);
    expect(pre).not.toBeNull();
    const first = [...pre!.items.subarray(0, 6)].map((i) => version.itemIds[i]);
    lookups.length = 0;
    const res = await rank({ version, log }, request({ userId, k: 20, sessionItems: first.slice(0, 3), exclude: first.slice(3) }));
    expect(lookups).toEqual([]);
    expect(res.source).toBe('precomputed');
    expect(res.items).toHaveLength(20);
    const returned = new Set(res.items.map((i) => i.itemId));
    for (const id of first) expect(returned.has(id)).toBe(false);
    const seen = historyIds(userId);
    for (const id of returned) expect(seen.has(id)).toBe(false);
  });

  it('looks the user up for a live retrieval and drops their history', async () => {
    const userId = fx.knownUserId;
    const seen = historyIds(userId);
    expect(seen.size).toBeGreaterThan(0);
    lookups.length = 0;
    const res = await rank({ version, log }, request({ userId, k: 30, usePrecomputed: false }));
    expect(lookups).toEqual([userId]);
    expect(res.source).toBe('cold_start');
    expect(res.items).toHaveLength(30);
    for (const item of res.items) expect(seen.has(item.itemId)).toBe(false);
  });

  it('looks the user up once when the precomputed list is too short and a live retrieval takes over', async () => {
    const userId = fx.knownUserId;
    const depth = version.candidates.get(userId)!.items.length;
    const seen = historyIds(userId);
    lookups.length = 0;
    const res = await rank({ version, log }, request({ userId, k: depth + 25 }));
    expect(lookups).toEqual([userId]);
    expect(res.source).toBe('cold_start');
    expect(res.items).toHaveLength(depth + 25);
    for (const item of res.items) expect(seen.has(item.itemId)).toBe(false);
  });

  it('looks a caller-supplied list up for scoring but keeps seen items in it', async () => {
    const userId = fx.knownUserId;
    const seenOne = [...historyIds(userId)][0];
    lookups.length = 0;
    const res = await rank({ version, log }, request({ userId, k: 5, candidates: [seenOne] }));
    expect(lookups).toEqual([userId]);
    expect(res.source).toBe('caller');
    expect(res.items.map((i) => i.itemId)).toEqual([seenOne]);
    expect(res.items[0].retrievalScore).not.toBe(0);
  });
});
