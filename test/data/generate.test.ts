import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateWorld, writeWorld, type World } from '../../shared/data/generate.js';
import { loadInteractions, loadItems, loadUsers } from '../../shared/data/readers.js';
import { TwoTowerError } from '../../shared/errors.js';
import { tempDir } from './helpers.js';

const world = generateWorld({ items: 2000, users: 400, seed: 17 });
const { dim: d, userFactors: U, itemFactors: F } = world.truth;
const itemIndex = new Map(world.items.map((it, i) => [it.itemId, i]));
const userIndex = new Map(world.users.map((u, i) => [u.userId, i]));

function dot(a: Float32Array, i: number, b: Float32Array, j: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[i * d + k] * b[j * d + k];
  return s;
}
function cos(i: number, j: number): number {
  return dot(F, i, F, j) / Math.sqrt(dot(F, i, F, i) * dot(F, j, F, j));
}
function byUser(w: World): Map<string, World['interactions']> {
  const m = new Map<string, World['interactions']>();
  for (const r of w.interactions) {
    const list = m.get(r.userId) ?? [];
    list.push(r);
    m.set(r.userId, list);
  }
  return m;
}

describe('generateWorld', () => {
  it('has the requested shape and valid rows', () => {
    expect(world.items).toHaveLength(2000);
    expect(world.users).toHaveLength(400);
    expect(F).toHaveLength(2000 * 16);
    expect(U).toHaveLength(400 * 16);
    expect(new Set(world.items.map((i) => i.itemId)).size).toBe(2000);
    for (const it of world.items) {
      expect(it.category).toMatch(/^cat_\d\d$/);
      expect(it.tags.length).toBeGreaterThanOrEqual(1);
      expect(it.tags.length).toBeLessThanOrEqual(4);
      expect(Number.isFinite(it.numeric.num_price) && it.numeric.num_price > 0).toBe(true);
      expect(it.numeric.num_quality).toBeGreaterThanOrEqual(0);
      expect(it.numeric.num_quality).toBeLessThanOrEqual(1);
    }
    for (const u of world.users) {
      expect(Object.keys(u.categorical).sort()).toEqual(['cat_age_band', 'cat_country']);
      expect(Number.isFinite(u.numeric.num_activity)).toBe(true);
    }
    const mean = (world.interactions.length + world.holdout.length) / 400;
    expect(mean).toBeGreaterThan(30);
    expect(mean).toBeLessThan(50);
    // One assertion over all rows: expect() per row would dominate the test's run time.
    const bad = [...world.interactions, ...world.holdout].filter(
      (r) => !itemIndex.has(r.itemId) || !userIndex.has(r.userId) || !Number.isInteger(r.timestamp) || ![1, 2, 3, 4, 5].includes(r.rating),
    );
    expect(bad).toEqual([]);
  });

  it('is identical for the same seed and different for another', () => {
    const again = generateWorld({ items: 2000, users: 400, seed: 17 });
    // JSON comparison: toEqual on 16k objects is slow and says no more.
    const same = (a: unknown, b: unknown) => expect(JSON.stringify(a) === JSON.stringify(b)).toBe(true);
    same(again.interactions, world.interactions);
    same(again.holdout, world.holdout);
    same(again.items, world.items);
    same(again.users, world.users);
    same(Array.from(again.truth.itemFactors), Array.from(F));
    same(Array.from(again.truth.userFactors), Array.from(U));
    const other = generateWorld({ items: 2000, users: 400, seed: 18 });
    expect(other.interactions.slice(0, 50)).not.toEqual(world.interactions.slice(0, 50));
  });

  it('never repeats an item for a user; timestamps increase; holdout is each user’s last 3', () => {
    const all = new Map<string, { ts: number; held: boolean }[]>();
    const seen = new Set<string>();
    let repeats = 0;
    for (const [list, held] of [[world.interactions, false], [world.holdout, true]] as const) {
      for (const r of list) {
        const key = `${r.userId}\u0000${r.itemId}`;
        if (seen.has(key)) repeats++;
        seen.add(key);
        const events = all.get(r.userId) ?? [];
        events.push({ ts: r.timestamp, held });
        all.set(r.userId, events);
      }
    }
    expect(repeats).toBe(0);
    expect(all.size).toBe(400);
    for (const [, events] of all) {
      const held = events.filter((e) => e.held);
      const train = events.filter((e) => !e.held);
      expect(held).toHaveLength(3);
      expect(train.length).toBeGreaterThanOrEqual(5);
      expect(Math.min(...held.map((e) => e.ts))).toBeGreaterThan(Math.max(...train.map((e) => e.ts)));
    }
    let unordered = 0;
    for (const list of byUser(world).values()) {
      for (let t = 1; t < list.length; t++) if (list[t].timestamp <= list[t - 1].timestamp) unordered++;
    }
    expect(unordered).toBe(0);
  });

  it('plants affinity: a user’s items are closer to the user than random items', () => {
    let inter = 0;
    let random = 0;
    let n = 0;
    let j = 0;
    for (const r of world.interactions) {
      const u = userIndex.get(r.userId) as number;
      inter += dot(U, u, F, itemIndex.get(r.itemId) as number);
      random += dot(U, u, F, (j = (j * 7919 + 13) % world.items.length));
      n++;
    }
    expect(inter / n).toBeGreaterThan(random / n + 0.3);
  });

  it('plants sessions: consecutive items are more similar than other items of the same user', () => {
    let consecutive = 0;
    let other = 0;
    let n = 0;
    for (const list of byUser(world).values()) {
      const idx = list.map((r) => itemIndex.get(r.itemId) as number);
      for (let t = 1; t < idx.length; t++) {
        // Within a session only (the generator ends sessions with gaps of hours).
        if (list[t].timestamp - list[t - 1].timestamp > 3600) continue;
        consecutive += cos(idx[t - 1], idx[t]);
        other += cos(idx[t - 1], idx[(t + Math.floor(idx.length / 2)) % idx.length]);
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
    expect(consecutive / n).toBeGreaterThan(other / n + 0.05);
  });

  it('plants features: tags follow the factors, ratings follow the affinity, popularity is skewed', () => {
    // Items sharing their first tag are more similar than random pairs.
    const byTag = new Map<string, number[]>();
    world.items.forEach((it, i) => byTag.set(it.tags[0], [...(byTag.get(it.tags[0]) ?? []), i]));
    let same = 0;
    let rnd = 0;
    let n = 0;
    for (const members of byTag.values()) {
      for (let k = 1; k < members.length; k++) {
        same += cos(members[k - 1], members[k]);
        rnd += cos(members[k], (members[k] * 31 + 7) % world.items.length);
        n++;
      }
    }
    expect(same / n).toBeGreaterThan(rnd / n + 0.2);

    const high: number[] = [];
    const low: number[] = [];
    for (const r of world.interactions) {
      const a = dot(U, userIndex.get(r.userId) as number, F, itemIndex.get(r.itemId) as number);
      (r.rating >= 4 ? high : low).push(a);
    }
    const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(avg(high)).toBeGreaterThan(avg(low));

    const counts = new Map<string, number>();
    for (const r of world.interactions) counts.set(r.itemId, (counts.get(r.itemId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top = sorted.slice(0, 20).reduce((s, x) => s + x, 0);
    // The top 1% of items get well over 1% of the interactions.
    expect(top / world.interactions.length).toBeGreaterThan(0.04);
  });

  it('works for tiny catalogs and rejects bad options', () => {
    const tiny = generateWorld({ items: 12, users: 5, seed: 1, categories: 3, interactionsPerUser: 20, holdoutPerUser: 1 });
    for (const list of byUser(tiny).values()) expect(new Set(list.map((r) => r.itemId)).size).toBe(list.length);
    expect(tiny.interactions.length + tiny.holdout.length).toBeGreaterThan(0);
    expect(() => generateWorld({ items: 0, users: 1, seed: 1 })).toThrow(TwoTowerError);
    expect(() => generateWorld({ items: 10, users: 1, seed: 1, categories: 11 })).toThrow(/categories/);
  });

  it('writeWorld writes four Arrow tables that read back equal', async () => {
    const dir = path.join(tempDir(), 'world');
    const small = generateWorld({ items: 300, users: 50, seed: 3 });
    await writeWorld(dir, small);
    expect(await loadItems(path.join(dir, 'items.arrow'))).toEqual(small.items);
    expect(await loadUsers(path.join(dir, 'users.arrow'))).toEqual(small.users);
    expect(await loadInteractions(path.join(dir, 'interactions.arrow'))).toEqual(small.interactions);
    expect(await loadInteractions(path.join(dir, 'holdout.arrow'))).toEqual(small.holdout);
  });
});
