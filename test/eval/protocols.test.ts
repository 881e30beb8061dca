import { describe, expect, it } from 'vitest';
import { Random } from '../../shared/data/random.js';
import type { InteractionRow } from '../../shared/data/types.js';
import { randomSplit, splitSizes } from '../../models/eval/protocols/randomProtocol.js';
import { parseProtocol, splitByProtocol } from '../../models/eval/protocols/splitProtocol.js';
import { temporalSplit } from '../../models/eval/protocols/temporalProtocol.js';

/** 40 users with 3..60 ratings each, ratings 1..5, timestamps with ties. */
function log(seed = 1): InteractionRow[] {
  const rng = new Random(seed);
  const rows: InteractionRow[] = [];
  for (let u = 0; u < 40; u++) {
    const n = 3 + rng.int(58);
    const items = rng.shuffle(Array.from({ length: 200 }, (_, i) => i)).slice(0, n);
    items.forEach((i, k) => rows.push({ userId: `u${u}`, itemId: `i${i}`, timestamp: 1000 + Math.floor(k / 2), rating: 1 + rng.int(5) }));
  }
  return rows;
}

const key = (r: InteractionRow): string => `${r.userId}|${r.itemId}`;

describe('random protocol', () => {
  const rows = log();
  const split = randomSplit(rows, { seed: 2020 });

  it('splits sizes like RecBole (floor of 10% for validation and test, at least one test item when possible)', () => {
    expect(splitSizes(1, 0.1, 0.1)).toEqual([1, 0, 0]);
    expect(splitSizes(2, 0.1, 0.1)).toEqual([1, 0, 1]);
    expect(splitSizes(5, 0.1, 0.1)).toEqual([3, 1, 1]);
    expect(splitSizes(10, 0.1, 0.1)).toEqual([8, 1, 1]);
    expect(splitSizes(25, 0.1, 0.1)).toEqual([21, 2, 2]);
    for (let n = 1; n < 300; n++) expect(splitSizes(n, 0.1, 0.1).reduce((a, b) => a + b)).toBe(n);
  });

  it('keeps only ratings >= 3 and partitions each user’s positives into disjoint train / validation / test', () => {
    const positives = new Set(rows.filter((r) => r.rating >= 3).map(key));
    const train = new Set(split.train.map(key));
    const val = new Set(split.validation.map(key));
    const test = new Set(split.users.flatMap((u) => [...u.relevant].map((i) => `${u.userId}|${i}`)));
    for (const k of val) expect(train.has(k)).toBe(false);
    for (const k of test) {
      expect(train.has(k)).toBe(false);
      expect(val.has(k)).toBe(false);
    }
    expect(train.size + val.size + test.size).toBe(positives.size);
    for (const k of [...train, ...val, ...test]) expect(positives.has(k)).toBe(true);
  });

  it('excludes exactly the user’s train and validation items, and gives the tower the train items', () => {
    for (const u of split.users) {
      const tr = split.train.filter((r) => r.userId === u.userId).map((r) => r.itemId);
      const va = split.validation.filter((r) => r.userId === u.userId).map((r) => r.itemId);
      expect([...u.exclude].sort()).toEqual([...tr, ...va].sort());
      expect([...u.history].sort()).toEqual([...tr].sort());
      expect(u.relevant.size).toBeGreaterThan(0);
      for (const i of u.relevant) expect(u.exclude.has(i)).toBe(false);
    }
  });

  it('is reproducible by seed and independent of row order; another seed splits differently', () => {
    const again = randomSplit(new Random(5).shuffle(rows.slice()), { seed: 2020 });
    expect(again.trainFingerprint).toBe(split.trainFingerprint);
    expect(again.users.map((u) => [u.userId, [...u.relevant].sort()])).toEqual(split.users.map((u) => [u.userId, [...u.relevant].sort()]));
    const other = randomSplit(rows, { seed: 2021 });
    expect(other.trainFingerprint).not.toBe(split.trainFingerprint);
  });
});

describe('temporal protocol', () => {
  it('future = the last interactions by time, session = the ones just before, history = the rest (the only training rows)', () => {
    const rows: InteractionRow[] = [];
    // Written out of time order, with a tie at t=5 broken by input order.
    for (const [i, t] of [[9, 9], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [55, 5], [6, 6], [7, 7], [8, 8]]) rows.push({ userId: 'a', itemId: `i${i}`, timestamp: t, rating: 1 });
    rows.push({ userId: 'short', itemId: 'x', timestamp: 1, rating: 1 });
    const s = temporalSplit(rows, { future: 2, session: 3 });
    expect(s.users).toHaveLength(1);
    const u = s.users[0];
    expect([...u.relevant]).toEqual(['i8', 'i9']);
    expect(u.session).toEqual(['i55', 'i6', 'i7']);
    expect(u.history).toEqual(['i1', 'i2', 'i3', 'i4', 'i5']);
    expect([...u.exclude].sort()).toEqual([...u.history, ...u.session].sort());
    // A user too short to have history, session and future is all training data.
    expect(s.train.map(key).sort()).toEqual(['a|i1', 'a|i2', 'a|i3', 'a|i4', 'a|i5', 'short|x']);
  });

  it('drops future items the user already had, and keeps the split disjoint on a real-sized log', () => {
    const rows = log(3);
    rows.push({ userId: 'u0', itemId: rows.find((r) => r.userId === 'u0')!.itemId, timestamp: 99999, rating: 5 });
    const s = splitByProtocol('temporal', rows, { future: 3, session: 5 });
    const train = new Set(s.train.map(key));
    for (const u of s.users) {
      for (const i of u.relevant) {
        expect(train.has(`${u.userId}|${i}`)).toBe(false);
        expect(u.exclude.has(i)).toBe(false);
      }
      for (const i of u.session) expect(train.has(`${u.userId}|${i}`)).toBe(false);
    }
    expect(temporalSplit(rows, { future: 3, session: 5 }).trainFingerprint).toBe(s.trainFingerprint);
  });

  it('names unknown protocols', () => {
    expect(() => parseProtocol('leave-one-out')).toThrow(/unknown protocol 'leave-one-out'/);
  });
});
