/**
 * Area 2, hot swap under load. The ranker serves a store over a real socket while an open-loop
 * generator in another process sends a steady rate of realistic requests (known and cold users,
 * a session of 5, k=20). K new versions are built first by the indexer CLI (a separate process, as
 * in production) into a staging store, before any load: on a 2-core box a build beside the ranker
 * would measure CPU contention, not the swap. Then a phase without swaps, then a phase in which the
 * K prepared versions are published one after another (promote: fsync and an atomic rename into
 * versions/; then the atomic CURRENT flip), with one corrupt version published in between. Every
 * request must succeed, every answer must carry a version that was published (never the corrupt
 * one), and each replaced version must be released. p99 with and without swaps is reported against
 * the 20 ms budget; only the soak run bounds it, generously.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningRanker } from '../../ranker/serve.js';
import { flipCurrent, promote, versionDir } from '../../shared/store/versionStore.js';
import { startCli } from '../indexer/fixture.js';
import { buildFixture, currentId, publishCorrupt, type Corruption, type RankerFixture } from '../ranker/fixture.js';
import { parsePrometheusText } from '../ranker/prometheusText.js';
import { fmt, percentile, rankBodies, report, sampleRss, size, SOAK, startLoadChild, timeout, waitFor, type LoadChild } from './helpers.js';
import type { LoadResult } from './loadGen.js';

const K = size(2, 10);
const RATE = size(150, 300);
const BASELINE_S = size(4, 30);
const CONNECTIONS = 32;
/** Traffic on each published version before the next one is published. */
const GAP_MS = size(500, 1000);
/** The p99 budget of issue 6 (reported; only soak bounds p99, and generously). */
const BUDGET_MS = 20;

let fx: RankerFixture;
let server: RunningRanker;
let load: LoadChild;
let bodies: string[];

beforeAll(async () => {
  fx = await buildFixture({ seed: 21 });
  server = await serve({ store: fx.store, port: 0, logger: false, adminToken: 'swap-token', pollMs: 200, processMetrics: false });
  load = await startLoadChild();
  bodies = rankBodies(fx.world);
});

afterAll(async () => {
  await load?.close();
  await server?.close();
  await fx?.cleanup();
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = parsePrometheusText(await server.metrics.render());
  return m.samples.some((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels)) ? m.value(name, labels) : 0;
}

/** A real nightly build in its own process into `store`; resolves with the version it published there. */
async function buildWithCli(store: string): Promise<string> {
  const { done } = startCli(['index', 'build', '--data', fx.data, '--model', fx.model, '--store', store, '--top-k', '50', '--min-recall', '0.5', '--json-log']);
  const run = await done;
  if (run.code !== 0) throw new Error(`index build failed (${run.code ?? run.signal}): ${run.stderr.slice(-2000)}`);
  return currentId(store);
}

/**
 * Publishes a version prepared in `staging` to the served store, as publishVersion's last steps
 * do: promote (fsync every file, atomic rename into versions/), then the atomic CURRENT flip.
 */
async function publishPrepared(staging: string, id: string): Promise<void> {
  await promote(fx.store, versionDir(staging, id), id);
  await flipCurrent(fx.store, id);
}

function failuresOf(r: LoadResult): number {
  return r.completed - r.okMs.length + r.errors;
}

describe('hot swap under a steady load', () => {
  it(
    `${K} versions and one corrupt one published under ${RATE} req/s: no failed request, only published versions served`,
    async () => {
      // Every version is built before the load starts: the load phase measures publishing only.
      const staging = path.join(fx.root, 'staging');
      const prepared: string[] = [];
      const buildMs: number[] = [];
      for (let i = 0; i < K; i++) {
        const b0 = performance.now();
        prepared.push(await buildWithCli(staging));
        buildMs.push(performance.now() - b0);
      }
      expect(new Set(prepared).size).toBe(K);
      expect(server.versions.get()?.id).toBe(fx.versionId);

      const rss = sampleRss();
      const base = await load.run({ url: server.url, path: '/v1/rank', mode: 'open', rate: RATE, durationS: BASELINE_S, connections: CONNECTIONS, bodies });
      expect(failuresOf(base), base.failures.join('\n')).toBe(0);
      expect(Object.keys(base.versions)).toEqual([fx.versionId]);

      const swappedBefore = await metric('twotower_version_loads_total', { outcome: 'swapped' });
      const refusedBefore = await metric('twotower_version_loads_total', { outcome: 'refused' });
      const published = [fx.versionId];
      let corrupt = '';
      const swapTimesMs: number[] = [];
      // Epoch-ms windows, to split the latencies: while a version is published and the ranker
      // loads, verifies, warms and swaps it, against the rest of the phase.
      const now = () => performance.timeOrigin + performance.now();
      const reloadWindows: [number, number][] = [];
      // Long enough for any run; stopped as soon as the last version serves.
      const during = load.run({ url: server.url, path: '/v1/rank', mode: 'open', rate: RATE, durationS: 3600, connections: CONNECTIONS, bodies, timeline: true });
      try {
        for (let i = 0; i < K; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, GAP_MS));
          const id = prepared[i];
          const t0 = now();
          await publishPrepared(staging, id);
          published.push(id);
          await waitFor(`version ${id} to serve`, () => server.versions.get()?.id === id, 60_000);
          reloadWindows.push([t0, now() + 100]);
          swapTimesMs.push(now() - t0);
          if (i === Math.floor((K - 1) / 2)) {
            // The corrupt one, between two good ones: damaged after publishing, as a bad disk or a
            // torn copy would leave it. It must be refused while the good one keeps serving.
            const how: Corruption = i % 2 === 0 ? 'hnsw_truncated' : 'ranker_onnx';
            const c0 = now();
            corrupt = await publishCorrupt(fx.store, id, how);
            await waitFor('the corrupt version to be refused', async () => (await metric('twotower_version_loads_total', { outcome: 'refused' })) > refusedBefore, 60_000);
            reloadWindows.push([c0, now() + 100]);
            expect(server.versions.get()?.id).toBe(id);
          }
        }
        // Traffic on the last version for a moment, then stop.
        await new Promise((r) => setTimeout(r, Math.max(1000, GAP_MS)));
      } finally {
        load.stop();
      }
      const swap = await during;
      const memory = rss.stop();

      const served = Object.keys(swap.versions);
      const inWindows = (ws: [number, number][]) =>
        swap.okTimeline
          .filter(([at]) => ws.some(([a, b]) => at >= a && at <= b))
          .map(([, ms]) => ms)
          .sort((a, b) => a - b);
      const duringReload = inWindows(reloadWindows);
      const between = swap.okTimeline
        .filter(([at]) => !reloadWindows.some(([a, b]) => at >= a && at <= b))
        .map(([, ms]) => ms)
        .sort((a, b) => a - b);
      const p99Base = percentile(base.okMs, 99);
      const p99Swap = percentile(swap.okMs, 99);
      const swaps = (await metric('twotower_version_loads_total', { outcome: 'swapped' })) - swappedBefore;
      const refused = (await metric('twotower_version_loads_total', { outcome: 'refused' })) - refusedBefore;
      report(
        'hot swap',
        `requests ${base.completed + swap.completed} (${base.completed} without swaps, ${swap.completed} during), errors ${failuresOf(base) + failuresOf(swap)}, ` +
          `swaps ${swaps} (+${refused} corrupt refused: ${corrupt}), versions served ${served.length}, ` +
          `p99 without swaps ${fmt(p99Base)} ms (p50 ${fmt(percentile(base.okMs, 50))}), p99 during swaps ${fmt(p99Swap)} ms (p50 ${fmt(percentile(swap.okMs, 50))}, max ${fmt(swap.okMs[swap.okMs.length - 1])}; ` +
          `while the ranker loads+swaps ${fmt(percentile(duringReload, 99))} ms over ${duringReload.length} requests, between swaps ${fmt(percentile(between, 99))} ms over ${between.length}), ` +
          `budget ${BUDGET_MS} ms ${p99Base < BUDGET_MS && p99Swap < BUDGET_MS ? 'met' : 'MISSED'}, ` +
          `degraded ${base.degraded + swap.degraded}, rate ${RATE}/s over ${CONNECTIONS} connections, ` +
          `publish+swap ${Math.round(Math.min(...swapTimesMs))}-${Math.round(Math.max(...swapTimesMs))} ms each (${GAP_MS} ms apart; versions built before the load by the CLI, ` +
          `${Math.round(Math.min(...buildMs))}-${Math.round(Math.max(...buildMs))} ms each), peak RSS ${Math.round(memory.peakMb)} MB`,
      );

      expect(failuresOf(swap), swap.failures.join('\n')).toBe(0);
      expect(swap.statusCounts).toEqual({ 200: swap.completed });
      // Only published versions, never the corrupt one, and every published one was served.
      for (const v of served) expect(published).toContain(v);
      expect(served).not.toContain(corrupt);
      expect(new Set(served)).toEqual(new Set(published));
      expect(swaps).toBe(K);
      expect(refused).toBe(1);
      expect(server.versions.get()?.id).toBe(published[published.length - 1]);
      // Each replaced version is closed once its last request is done.
      await waitFor('replaced versions to be released', () => server.versions.retiring === 0);
      if (SOAK) expect(p99Swap).toBeLessThan(250);
    },
    timeout(150, 600),
  );
});
