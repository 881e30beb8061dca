import { describe, expect, it } from 'vitest';
import { HoldoutSelector, splitHoldout } from '../../shared/data/split.js';
import type { InteractionRow } from '../../shared/data/types.js';

const r = (userId: string, itemId: string, timestamp: number): InteractionRow => ({ userId, itemId, timestamp, rating: 1 });

describe('splitHoldout', () => {
  const rows = [
    r('a', 'a1', 10),
    r('b', 'b1', 5),
    r('a', 'a2', 30), // out of time order in the input
    r('a', 'a3', 20),
    r('b', 'b2', 6),
    r('a', 'a4', 40),
    r('a', 'a5', 1),
  ];

  it('moves each user’s latest interactions by time, keeping input order', () => {
    const { train, holdout } = splitHoldout(rows, { perUser: 2, minTrain: 1 });
    expect(holdout.map((x) => x.itemId)).toEqual(['a2', 'a4']);
    // b has 2 interactions: splitting 2 would leave 0 < minTrain, so b stays whole.
    expect(train.map((x) => x.itemId)).toEqual(['a1', 'b1', 'a3', 'b2', 'a5']);
  });

  it('is a partition: disjoint, nothing lost', () => {
    const { train, holdout } = splitHoldout(rows, { perUser: 1 });
    expect(train.length + holdout.length).toBe(rows.length);
    const inTrain = new Set(train);
    for (const h of holdout) expect(inTrain.has(h)).toBe(false);
    expect(new Set([...train, ...holdout]).size).toBe(rows.length);
    // Every held-out row is later than every training row of its user.
    for (const h of holdout) for (const t of train) if (t.userId === h.userId) expect(t.timestamp).toBeLessThanOrEqual(h.timestamp);
    expect(holdout.map((x) => x.itemId).sort()).toEqual(['a4', 'b2']);
  });

  it('honours minTrain', () => {
    expect(splitHoldout(rows, { perUser: 2, minTrain: 3 }).holdout.map((x) => x.itemId)).toEqual(['a2', 'a4']);
    expect(splitHoldout(rows, { perUser: 2, minTrain: 4 }).holdout).toEqual([]);
    expect(splitHoldout(rows, { perUser: 0 }).holdout).toEqual([]);
  });

  it('breaks timestamp ties by input position (a later row is later)', () => {
    const ties = [r('u', 'x', 5), r('u', 'y', 5), r('u', 'z', 5), r('u', 'w', 1)];
    expect(splitHoldout(ties, { perUser: 2 }).holdout.map((x) => x.itemId)).toEqual(['y', 'z']);
    // Deterministic: same answer on a copy.
    expect(splitHoldout([...ties], { perUser: 2 }).holdout.map((x) => x.itemId)).toEqual(['y', 'z']);
  });

  it('rejects nonsense options', () => {
    expect(() => splitHoldout(rows, { perUser: -1 })).toThrow(RangeError);
    expect(() => splitHoldout(rows, { perUser: 1.5 })).toThrow(RangeError);
    expect(() => new HoldoutSelector({ perUser: 1, minTrain: -2 })).toThrow(RangeError);
  });

  it('the streaming selector agrees with sorting', () => {
    const many: InteractionRow[] = [];
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 3000; i++) many.push(r(`u${Math.floor(rand() * 50)}`, `i${i}`, Math.floor(rand() * 100)));
    const { holdout } = splitHoldout(many, { perUser: 3, minTrain: 2 });
    const expected: InteractionRow[] = [];
    const byUser = new Map<string, number[]>();
    many.forEach((x, i) => byUser.set(x.userId, [...(byUser.get(x.userId) ?? []), i]));
    for (const idx of byUser.values()) {
      if (idx.length < 5) continue;
      const sorted = [...idx].sort((a, b) => many[a].timestamp - many[b].timestamp || a - b);
      expected.push(...sorted.slice(-3).map((i) => many[i]));
    }
    expect(new Set(holdout)).toEqual(new Set(expected));
    expect(holdout.length).toBe(expected.length);
  });
});
