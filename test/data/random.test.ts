import { describe, expect, it } from 'vitest';
import { AliasTable } from '../../shared/data/alias.js';
import { Random } from '../../shared/data/random.js';

describe('Random', () => {
  it('is reproducible by seed and differs between seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const xa = Array.from({ length: 20 }, () => a.nextUint32());
    const xb = Array.from({ length: 20 }, () => b.nextUint32());
    const xc = Array.from({ length: 20 }, () => c.nextUint32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
    // Seed 0 must not be a degenerate all-zero state.
    expect(new Set(Array.from({ length: 10 }, () => new Random(0).nextUint32())).size).toBe(1);
    const z = new Random(0);
    expect(new Set(Array.from({ length: 10 }, () => z.nextUint32())).size).toBe(10);
  });

  it('forks independent, reproducible streams', () => {
    const r = new Random(7);
    const f1 = r.fork(1).uniform();
    const f2 = r.fork(2).uniform();
    expect(f1).not.toBe(f2);
    expect(new Random(7).fork(1).uniform()).toBe(f1);
  });

  it('uniform() is in [0, 1) with mean 1/2; int(n) covers [0, n)', () => {
    const r = new Random(1);
    let sum = 0;
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 20000; i++) {
      const u = r.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      counts[r.int(5)]++;
    }
    expect(sum / 20000).toBeCloseTo(0.5, 1);
    for (const c of counts) expect(c).toBeGreaterThan(3600);
    expect(() => r.int(0)).toThrow(RangeError);
  });

  it('normal() has mean 0 and variance 1', () => {
    const r = new Random(3);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.05);
    expect(s2 / n).toBeGreaterThan(0.95);
    expect(s2 / n).toBeLessThan(1.05);
  });

  it('shuffle is a reproducible permutation', () => {
    const a = new Random(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
    const b = new Random(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('weighted choice follows the weights and never picks a zero weight', () => {
    const r = new Random(9);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[r.weightedIndex([1, 0, 3])]++;
    expect(counts[1]).toBe(0);
    expect(counts[2] / counts[0]).toBeGreaterThan(2.7);
    expect(counts[2] / counts[0]).toBeLessThan(3.3);
    expect(r.weightedChoice(['a', 'b'], [0, 1])).toBe('b');
    expect(() => r.weightedIndex([0, 0])).toThrow(RangeError);
  });
});

describe('AliasTable', () => {
  it('samples in proportion to the weights', () => {
    const t = new AliasTable([5, 0, 1, 4]);
    const r = new Random(11);
    const counts = [0, 0, 0, 0];
    const n = 50000;
    for (let i = 0; i < n; i++) counts[t.sample(r)]++;
    expect(counts[1]).toBe(0);
    expect(counts[0] / n).toBeCloseTo(0.5, 1);
    expect(counts[2] / n).toBeCloseTo(0.1, 1);
    expect(counts[3] / n).toBeCloseTo(0.4, 1);
    expect(() => new AliasTable([0, 0])).toThrow(RangeError);
    expect(() => new AliasTable([1, Number.NaN])).toThrow(RangeError);
  });
});
