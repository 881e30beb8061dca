/**
 * How bench:ranker reads its runs decides what it reports as met: the median run per rate, the
 * highest rate held (p99 under 10 ms, no error, nothing shed), and the empty route's ladder.
 */
import { describe, expect, it } from 'vitest';
import { emptyRouteLadder, highestHeld, medianRuns, targetRateOf, type Row } from '../../bench/rankerVerdict.js';

const row = (path: string, target: number | null, p99: number, extra: Partial<Row> = {}): Row => ({
  path,
  target,
  rps: target ?? 20_000,
  p50: p99 / 4,
  p95: p99 / 2,
  p99,
  errors: 0,
  non2xx: 0,
  degradedShare: null,
  cpuUs: 100,
  sendLagMs: 1,
  ...extra,
});

describe('medianRuns', () => {
  it('keeps the run with the median p99 per path and rate, with the most errors of any run', () => {
    const runs = [row('a', 1000, 9), row('a', 1000, 3, { errors: 2 }), row('a', 1000, 40, { non2xx: 7 }), row('b', 1000, 5)];
    const medians = medianRuns(runs);
    expect(medians).toHaveLength(2);
    const a = medians.find((r) => r.path === 'a')!;
    expect(a.p99).toBe(9);
    expect(a.errors).toBe(2);
    // The shed count is the median run's own, not the worst.
    expect(a.non2xx).toBe(0);
  });

  it('ranks a run that shed after every run that did not, so the median holds when most runs did', () => {
    // Two clean runs around a shedding run's p99: two of three held, so the rate held.
    const twoHeld = medianRuns([row('s', 3913, 7.91), row('s', 3913, 4.04), row('s', 3913, 5.76, { non2xx: 42 })]);
    expect(twoHeld[0]).toMatchObject({ p99: 7.91, non2xx: 0 });
    expect(highestHeld(twoHeld, 's')?.target).toBe(3913);
    // One clean run between two others by p99: one of three held, so the rate did not.
    const oneHeld = medianRuns([row('s', 4000, 3, { non2xx: 10 }), row('s', 4000, 5), row('s', 4000, 12)]);
    expect(oneHeld[0].p99).toBe(12);
    expect(highestHeld(oneHeld, 's')).toBeNull();
  });

  it('takes the lower middle of an even number of runs', () => {
    expect(medianRuns([row('a', 500, 8), row('a', 500, 2)])[0].p99).toBe(2);
  });
});

describe('highestHeld', () => {
  it('is the highest rate with p99 under 10 ms, no errors and nothing shed', () => {
    const rows = [
      row('static', 1000, 2),
      row('static', 2000, 4),
      row('static', 3000, 6, { non2xx: 1 }), // shed one: not held
      row('static', 4000, 5, { errors: 1 }),
      row('static', 5000, 10), // 10 is not under 10
      row('other', 9000, 1),
      row('static', null, 1), // the closed-loop row is never a held rate
    ];
    expect(highestHeld(rows, 'static')?.target).toBe(2000);
  });

  it('is null when no rate held', () => {
    expect(highestHeld([row('static', 1000, 12)], 'static')).toBeNull();
    expect(highestHeld([row('static', 1000, Number.NaN)], 'static')).toBeNull();
  });
});

describe('emptyRouteLadder', () => {
  it('climbs from 35% to 95% of the ceiling in tens, rounded to hundreds, after the given rates', () => {
    expect(emptyRouteLadder(16_000, [250, 5000])).toEqual([250, 5000, 5600, 7200, 8800, 10400, 12000, 13600, 15200]);
  });

  it('does not repeat a rate already given', () => {
    const ladder = emptyRouteLadder(10_000, [3500, 4500]);
    expect(ladder.filter((r) => r === 3500)).toHaveLength(1);
    expect(ladder).toEqual([3500, 4500, 5500, 6500, 7500, 8500, 9500]);
  });
});

describe('targetRateOf', () => {
  it('is a quarter, rounded', () => {
    expect(targetRateOf(15_914)).toBe(3979);
    expect(targetRateOf(8000)).toBe(2000);
  });
});
