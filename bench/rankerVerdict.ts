/**
 * How `bench:ranker` reads its runs: which run of a rate stands for it, which rates a path held,
 * and which empty-route rates it climbs to find the floor.
 *
 * The target is "p99 under 10 ms at a rate of at least 25% of the empty route's rate at
 * the same p99". The empty route's rate at p99 < 10 ms is measured the way the ranker's is: the
 * same open-loop generator, the same ladder rule, the same median of runs. The closed-loop
 * ceiling (autocannon, 16 connections) is a different quantity: a closed loop sends only when an
 * answer came back, so it never builds the queue an open stream of arrivals does, and it reports
 * a rate that an open stream at p99 < 10 ms does not reach (on the 2-core box, an empty route with
 * a closed-loop ceiling near 16,000 req/s had p99 7.7 to 457 ms at 11,000 req/s open loop). Both
 * ratios are printed; the closed-loop one is the stricter.
 */

export const P99_LIMIT_MS = 10;
export const TARGET_SHARE = 0.25;

export interface Row {
  path: string;
  /** The rate asked for; null for the closed-loop ceiling. */
  target: number | null;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
  degradedShare: number | null;
  /** Server CPU per answered request, microseconds. */
  cpuUs: number;
  /** The generator's worst lateness in sending, ms (openLoop's maxSendLagMs); NaN for autocannon. */
  sendLagMs: number;
}

/**
 * Per path and rate, the median run, carrying the most errors any of its runs had. Runs are
 * ordered by how well they went: those that shed nothing first, then by p99. So the median run
 * held (p99 under the limit, nothing shed) exactly when more than half of the runs held, or half
 * with an even count, where the lower middle is taken. Ordered by p99 alone, a rate whose two
 * clean runs bracketed a shedding run's p99 would read as not held, and one whose only clean run
 * sat between two others as held.
 */
export function medianRuns(all: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of all) {
    const key = `${r.path}\0${r.target}`;
    const runs = groups.get(key);
    if (runs) runs.push(r);
    else groups.set(key, [r]);
  }
  const shed = (r: Row) => (r.non2xx > 0 ? 1 : 0);
  return [...groups.values()].map((runs) => {
    const sorted = runs.slice().sort((a, b) => shed(a) - shed(b) || a.p99 - b.p99);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return { ...median, errors: Math.max(...runs.map((r) => r.errors)) };
  });
}

/**
 * The open-loop row of `path` with the highest rate asked for among those that held: p99 under
 * the limit, no errors and nothing shed (a 503 is a request the service did not hold). Null when
 * none did. Pass median runs when rates were repeated.
 */
export function highestHeld(rows: readonly Row[], path: string): Row | null {
  let best: Row | null = null;
  for (const r of rows) {
    if (r.path !== path || r.target === null) continue;
    if (!(r.p99 < P99_LIMIT_MS) || r.errors !== 0 || r.non2xx !== 0) continue;
    if (!best || r.target > (best.target as number)) best = r;
  }
  return best;
}

/**
 * Open-loop rates for the empty route past the given ones: 35% to 95% of its closed-loop ceiling
 * in steps of 10, rounded to hundreds, so that its rate at p99 < 10 ms is found rather than
 * assumed. Rates already in `given` are not repeated.
 */
export function emptyRouteLadder(ceiling: number, given: readonly number[]): number[] {
  const out = new Set(given);
  for (let share = 0.35; share < 0.96; share += 0.1) out.add(Math.round((share * ceiling) / 100) * 100);
  return [...out].filter((r) => r > 0).sort((a, b) => a - b);
}

/** A quarter of a rate, as the rate the ranker is run at to test the target. */
export function targetRateOf(rate: number): number {
  return Math.round(rate * TARGET_SHARE);
}
