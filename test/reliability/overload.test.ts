/**
 * Area 3, overload. The ranker's capacity is measured first (a closed loop below the in-flight
 * limit: its throughput is what the service sustains on this machine, now). Then an open loop
 * offers three times that: the service must shed the excess with 503s, keep the admitted requests
 * flowing, never hold more than its in-flight limit, and not grow its memory without bound. When
 * the load drops back, every request must succeed again. Latencies are reported; only the soak
 * run bounds them, generously.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_IN_FLIGHT } from '../../ranker/app.js';
import { serve, type RunningRanker } from '../../ranker/serve.js';
import { buildFixture, type RankerFixture } from '../ranker/fixture.js';
import { parsePrometheusText } from '../ranker/prometheusText.js';
import { fmt, percentile, rankBodies, report, sampleRss, size, SOAK, startLoadChild, timeout, waitFor, type LoadChild } from './helpers.js';
import type { LoadResult } from './loadGen.js';

const CAPACITY_S = size(3, 10);
const RAMP_S = size(2, 5);
const STEADY_S = size(3, 20);
const OVERLOAD_S = size(5, 60);
const RECOVERY_S = size(3, 20);

let fx: RankerFixture;
let server: RunningRanker;
let load: LoadChild;
let bodies: string[];

beforeAll(async () => {
  fx = await buildFixture({ seed: 31 });
  server = await serve({ store: fx.store, port: 0, logger: false, watch: false, processMetrics: false });
  load = await startLoadChild();
  bodies = rankBodies(fx.world);
});

afterAll(async () => {
  await load?.close();
  await server?.close();
  await fx?.cleanup();
});

async function inFlight(): Promise<number> {
  const gauge = server.metrics.registry.getSingleMetric('twotower_in_flight_requests');
  const got = await gauge?.get();
  return got?.values[0]?.value ?? NaN;
}

async function shedTotal(): Promise<number> {
  const m = parsePrometheusText(await server.metrics.render());
  return m.samples.filter((s) => s.name === 'twotower_shed_total').reduce((a, s) => a + s.value, 0);
}

const p = (r: LoadResult, q: number) => fmt(percentile(r.okMs, q));

/** Approximate quantile q (0..1) of a Prometheus histogram's series, as its bucket's upper bound. */
async function serverQuantileMs(labels: Record<string, string>, q: number): Promise<number> {
  const m = parsePrometheusText(await server.metrics.render());
  const buckets = m.samples
    .filter((s) => s.name === 'twotower_http_request_seconds_bucket' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), n: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.n ?? 0;
  if (!total) return NaN;
  return (buckets.find((b) => b.n >= q * total)?.le ?? Infinity) * 1000;
}

/** Counts per (route, status) of the server's request histogram, to subtract phases. */
async function serverCount(labels: Record<string, string>): Promise<number> {
  const m = parsePrometheusText(await server.metrics.render());
  return m.samples
    .filter((s) => s.name === 'twotower_http_request_seconds_count' && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/**
 * Samples the in-flight count on every turn of the event loop, in the check phase: requests are
 * admitted in the poll phase and hold their slot while they wait for onnxruntime's setImmediate,
 * so a timer (which runs before the poll phase) would only ever see the drained state. Spins the
 * loop while on: only for the overload phase.
 */
function sampleInFlight() {
  let max = 0;
  let on = true;
  const spin = () => {
    if (!on) return;
    void inFlight().then((n) => (max = Math.max(max, n)));
    setImmediate(spin);
  };
  setImmediate(spin);
  return {
    stop() {
      on = false;
      return max;
    },
  };
}

describe('overload at three times the sustainable rate', () => {
  it(
    'sheds with 503s, holds no more than its in-flight limit, keeps memory bounded, and recovers fully',
    async () => {
      const url = server.url;
      const run = (rate: number, durationS: number, connections = 64) => load.run({ url, path: '/v1/rank', mode: 'open', rate, durationS, connections, bodies });
      // Warm both processes up, then the closed-loop ceiling, then the sustainable rate: the
      // highest open-loop rate tried whose p99 stays within the 20 ms budget with nothing shed.
      await load.run({ url, path: '/v1/rank', mode: 'closed', durationS: 1, connections: 8, bodies });
      const cap = await load.run({ url, path: '/v1/rank', mode: 'closed', durationS: CAPACITY_S, connections: 16, bodies });
      expect(cap.completed - cap.okMs.length + cap.errors, cap.failures.join('\n')).toBe(0);
      const ceiling = cap.completed / cap.elapsedS;
      let sustainable = 0;
      const ramp: string[] = [];
      for (const share of [0.35, 0.5, 0.65, 0.8]) {
        const rate = Math.round(ceiling * share);
        // A step gets a second try: one stall of a noisy neighbour should not end the ramp.
        let ok = false;
        for (let attempt = 0; attempt < 2 && !ok; attempt++) {
          const r = await run(rate, RAMP_S);
          ok = r.statusCounts['200'] === r.sent && percentile(r.okMs, 99) <= 20;
          ramp.push(`${rate}/s p99 ${p(r, 99)}${ok ? '' : ' ✗'}`);
        }
        if (!ok) break;
        sustainable = rate;
      }
      // The ramp only measures down (a busy neighbour makes a step fail); below half the
      // closed-loop ceiling it says more about the neighbours than the service, and three times
      // it might not overload anything. Half the ceiling is the floor.
      const floor = Math.round(ceiling * 0.5);
      if (sustainable < floor) {
        ramp.push(`(floor: half the ceiling, ${floor}/s)`);
        sustainable = floor;
      }
      const steadyRate = Math.round(sustainable / 2);
      const overloadRate = sustainable * 3;

      const steady = await run(steadyRate, STEADY_S);
      expect(steady.statusCounts).toEqual({ 200: steady.completed });

      const shedBefore = await shedTotal();
      const count200 = await serverCount({ route: '/v1/rank', status: '200' });
      const rssBefore = process.memoryUsage.rss() / 2 ** 20;
      const rss = sampleRss(100);
      const flight = sampleInFlight();
      let over: LoadResult;
      let maxInFlight: number;
      try {
        // More connections than the in-flight limit, so that the excess reaches the server.
        over = await run(overloadRate, OVERLOAD_S, 400);
      } finally {
        maxInFlight = flight.stop();
      }
      const memory = rss.stop();
      const shed = (await shedTotal()) - shedBefore;
      const server503p99 = await serverQuantileMs({ route: '/v1/rank', status: '503' }, 0.99);
      // Cumulative over the run so far; the overload phase dominates it.
      const server200p99 = await serverQuantileMs({ route: '/v1/rank', status: '200' }, 0.99);
      const server200 = (await serverCount({ route: '/v1/rank', status: '200' })) - count200;
      const third = Math.max(1, Math.floor(memory.samples.length / 3));
      const firstThirdMb = Math.max(...memory.samples.slice(0, third));
      const lastThirdMb = Math.max(...memory.samples.slice(-third));

      await waitFor('in-flight requests to drain', async () => (await inFlight()) === 0, 30_000);
      const recovery = await run(steadyRate, RECOVERY_S);
      const shedAfterRecovery = (await shedTotal()) - shedBefore;

      const accepted = over.statusCounts['200'] ?? 0;
      const refused = over.statusCounts['503'] ?? 0;
      report(
        'overload',
        `closed-loop ceiling ${ceiling.toFixed(0)} req/s (16 connections, p99 ${p(cap, 99)} ms); ramp ${ramp.join(', ')} → sustainable ${sustainable}/s; ` +
          `offered ${overloadRate}/s (3×) for ${OVERLOAD_S}s over 400 connections (generator lag max ${fmt(over.maxReleaseLagMs)} ms): ` +
          `accepted ${accepted} (${(accepted / over.elapsedS).toFixed(0)}/s, client p50 ${p(over, 50)} ms, p99 ${p(over, 99)} ms, server-side p99 ≤ ${fmt(server200p99)} ms, degraded ${over.degraded}), ` +
          `shed ${refused} (client p50 ${fmt(percentile(over.shedMs, 50))} ms, p99 ${fmt(percentile(over.shedMs, 99))} ms; server-side 503 p99 ≤ ${fmt(server503p99)} ms), ` +
          `errors ${over.errors}, max in flight ${maxInFlight}/${DEFAULT_MAX_IN_FLIGHT}; RSS ${rssBefore.toFixed(0)} MB before, peak ${memory.peakMb.toFixed(0)} MB ` +
          `(max over the first third ${firstThirdMb.toFixed(0)}, last third ${lastThirdMb.toFixed(0)}); ` +
          `at ${steadyRate}/s before: p99 ${p(steady, 99)} ms; after: p99 ${p(recovery, 99)} ms, ${recovery.statusCounts['200'] ?? 0}/${recovery.sent} ok`,
      );

      // Overload: only answers and fast refusals, nothing lost, the excess shed.
      expect(over.errors, over.failures.join('\n')).toBe(0);
      expect(Object.keys(over.statusCounts).sort()).toEqual(['200', '503']);
      expect(accepted).toBeGreaterThan(0);
      expect(server200).toBe(accepted);
      expect(refused).toBeGreaterThan(0);
      expect(shed).toBe(refused);
      // A bounded queue: never more admitted at once than the limit (and the limit was reached).
      expect(maxInFlight).toBeLessThanOrEqual(DEFAULT_MAX_IN_FLIGHT);
      expect(maxInFlight).toBeGreaterThan(0);
      expect(memory.peakMb - rssBefore).toBeLessThan(300);
      // Recovery: the same steady rate as before, every request answered, nothing shed.
      expect(recovery.statusCounts).toEqual({ 200: recovery.sent });
      expect(recovery.errors).toBe(0);
      expect(shedAfterRecovery).toBe(shed);
      if (SOAK) {
        // Generous bounds, on what the service controls: from the moment it reads a request to its
        // answer (its own histogram). Client-side latency on this shared box also holds the time a
        // request waits for a CPU in the kernel's queues (the generator and the neighbours' jobs
        // compete for the same 2 cores), so it is reported, not bounded.
        expect(lastThirdMb - firstThirdMb).toBeLessThan(100);
        expect(server503p99).toBeLessThanOrEqual(5);
        expect(server200p99).toBeLessThanOrEqual(250);
      }
    },
    timeout(120, 400),
  );
});
