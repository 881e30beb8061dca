/**
 * The scoring worker against the in-thread pipeline on a real published version: the same
 * answers (items, scores, explain features) for every kind of request, one at a time and many in
 * one turn; the fallbacks when it is late, closed or fed rows it cannot score; and its lifecycle
 * (refused when the ranker file changed, closed with its version).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rank } from '../../ranker/pipeline/rank.js';
import { scoreAndOrderInWorker } from '../../ranker/pipeline/scoreAndOrder.js';
import { servingContext } from '../../ranker/pipeline/servingContext.js';
import type { PipelineLogger, RankRequest, RankResult } from '../../ranker/pipeline/types.js';
import { attachScoringWorker, scoringWorkerOf } from '../../ranker/scoring/scoringWorkerClient.js';
import { serializeRankResponse } from '../../ranker/serializeRank.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { versionDir } from '../../shared/store/versionStore.js';
import { buildFixture, type RankerFixture } from './fixture.js';

let fx: RankerFixture;
let inThread: LoadedVersion;
let offloaded: LoadedVersion;
let itemIds: string[];
let userIds: string[];
const warnings: string[] = [];
const log: PipelineLogger = { warn: (_o, msg) => void warnings.push(msg) };

beforeAll(async () => {
  fx = await buildFixture({ seed: 23 });
  inThread = await loadVersion(fx.store);
  offloaded = await loadVersion(fx.store);
  await attachScoringWorker(offloaded);
  itemIds = fx.world.items.map((i) => i.itemId);
  userIds = [...new Set(fx.world.interactions.map((r) => r.userId))];
});

afterAll(async () => {
  await inThread?.close();
  await offloaded?.close();
  await fx?.cleanup();
});

/** What a response says, without the timings (which differ from run to run). */
function answer(r: RankResult) {
  return { items: r.items, source: r.source, degraded: r.degraded, degradedReason: r.degradedReason, ignored: r.ignored };
}

function requests(): RankRequest[] {
  const out: RankRequest[] = [];
  for (let i = 0; i < 60; i++) {
    const session = Array.from({ length: i % 7 }, (_, j) => itemIds[(i * 37 + j * 11) % itemIds.length]);
    out.push({
      userId: i % 10 === 9 ? `nobody-${i}` : userIds[(i * 13) % userIds.length],
      k: [1, 5, 20, 200][i % 4],
      sessionItems: i % 9 === 0 ? [...session, 'ghost-item'] : session,
      exclude: i % 5 === 0 ? [itemIds[(i * 7) % itemIds.length]] : [],
      explain: i % 3 === 0,
      ...(i % 8 === 0 ? { candidates: itemIds.slice(i, i + 30) } : {}),
    });
  }
  return out;
}

describe('scoring worker', () => {
  it('answers every kind of request exactly as the in-thread pipeline, explain features included', async () => {
    expect(scoringWorkerOf(offloaded)).not.toBeNull();
    expect(scoringWorkerOf(inThread)).toBeNull();
    // Both paths take the session similarities from the SIMD kernel, over the version's memory.
    expect(offloaded.embeddingMemory).toBeTruthy();
    expect(servingContext(inThread).sessionDots).not.toBeNull();
    const sources = new Set<string>();
    for (const req of requests()) {
      const here = await rank({ version: inThread, log }, req);
      const there = await rank({ version: offloaded, log }, req);
      expect(answer(there)).toEqual(answer(here));
      expect(there.degraded).toBe(false);
      // Without explain the worker also writes the items' JSON text: the response bytes are the same.
      if (!req.explain && there.items.length > 0) expect(there.itemsJson).toBeDefined();
      if (req.explain) expect(there.itemsJson).toBeUndefined();
      expect(here.itemsJson).toBeUndefined();
      const bytes = (r: RankResult) => serializeRankResponse({ ...r, timingsMs: {} }, 1);
      expect(bytes(there)).toBe(bytes(here));
      sources.add(there.source);
      if (req.explain && there.items.length > 0) expect(there.items[0].features).toBeDefined();
    }
    // The requests reach every path: precomputed lists, live retrieval, popularity and caller lists.
    expect([...sources].sort()).toEqual(['caller', 'cold_start', 'popular', 'precomputed']);
    expect(warnings).toEqual([]);
  });

  it('gives each request its own answer when many share one batch', async () => {
    const reqs = requests();
    const expected = await Promise.all(reqs.map((r) => rank({ version: inThread, log }, r)));
    const got = await Promise.all(reqs.map((r) => rank({ version: offloaded, log }, r)));
    expect(got.map(answer)).toEqual(expected.map(answer));
  });

  it('reports the worker-side stage times', async () => {
    const r = await rank({ version: offloaded, log }, { userId: userIds[0], k: 5, sessionItems: [itemIds[3]], exclude: [] });
    for (const stage of ['resolve', 'candidates', 'filter', 'features', 'score', 'order'] as const) {
      expect(r.timingsMs[stage], stage).toBeGreaterThanOrEqual(0);
    }
  });

  it('past the deadline answers in retrieval order, degraded, with explain features all the same', async () => {
    const req: RankRequest = { userId: userIds[1], k: 5, sessionItems: [itemIds[0]], exclude: [], explain: true, deadline: performance.now() - 1 };
    const r = await rank({ version: offloaded, log }, req);
    expect(r.degraded).toBe(true);
    expect(r.degradedReason).toBe('deadline');
    expect(r.items.length).toBe(5);
    for (const it of r.items) {
      expect(it.score).toBe(it.retrievalScore);
      expect(it.features?.retrieval_score).toBeCloseTo(it.retrievalScore, 6);
    }
    const scores = r.items.map((i) => i.retrievalScore);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('reports a job whose rows give non-finite scores as a problem, not a batch failure', async () => {
    const worker = scoringWorkerOf(offloaded);
    // Row indices past the table read as NaN features: the ranker's scores come back NaN.
    const [bad, good] = await Promise.all([
      worker!.score({ items: Int32Array.of(offloaded.itemIds.length + 5), scores: Float32Array.of(0.5), session: Int32Array.of(0), k: 1, explain: false }),
      worker!.score({ items: Int32Array.of(0, 1, 2), scores: Float32Array.of(0.3, 0.2, 0.1), session: Int32Array.of(4), k: 2, explain: false }),
    ]);
    expect(bad).toMatchObject({ ok: false, problem: 'score 0 is not finite' });
    expect(good.ok).toBe(true);
    if (good.ok) expect(good.positions.length).toBe(2);
  });

  it('a request whose worker is gone answers in retrieval order and says the ranker failed', async () => {
    const version = await loadVersion(fx.store);
    try {
      const worker = await attachScoringWorker(version);
      await worker.close();
      expect(worker.dead).not.toBeNull();
      const ctx = servingContext(version);
      const candidates = { items: Int32Array.of(5, 6, 7), scores: Float32Array.of(0.9, 0.8, 0.7) };
      const before = warnings.length;
      const ranked = await scoreAndOrderInWorker(
        { version, context: ctx, log, candidates, sessionItems: Int32Array.of(1), k: 2, explain: false, deadline: undefined, microBatch: false },
        worker,
        {},
      );
      expect(ranked).toMatchObject({ scores: null, features: null, late: false });
      expect([...ranked.order]).toEqual([0, 1]);
      expect(warnings.slice(before)).toEqual(['ranker failed; answering in retrieval order']);

      // The pipeline no longer sends this version's requests to it: they are scored in this thread.
      expect(scoringWorkerOf(version)).toBeNull();
      const req: RankRequest = { userId: userIds[2], k: 5, sessionItems: [itemIds[1]], exclude: [] };
      const r = await rank({ version, log }, req);
      expect(r.degraded).toBe(false);
      expect(answer(r)).toEqual(answer(await rank({ version: inThread, log }, req)));
    } finally {
      await version.close();
    }
  });

  it('closes with its version', async () => {
    const version = await loadVersion(fx.store);
    const worker = await attachScoringWorker(version);
    expect(worker.dead).toBeNull();
    await version.close();
    expect(worker.dead?.message).toMatch(/closed/);
    await expect(worker.score({ items: Int32Array.of(0), scores: Float32Array.of(0), session: new Int32Array(0), k: 1, explain: false })).rejects.toThrow(/closed/);
  });

  it('refuses to start when the ranker file changed since the model was loaded', async () => {
    const version = await loadVersion(fx.store);
    const file = path.join(versionDir(fx.store, version.id), 'model', 'ranker.onnx');
    const original = await fs.readFile(file);
    try {
      await fs.writeFile(file, Buffer.concat([original, Buffer.from([0])]));
      await expect(attachScoringWorker(version)).rejects.toThrow(/ranker\.onnx: changed since the model was loaded/);
      expect(scoringWorkerOf(version)).toBeNull();
    } finally {
      await fs.writeFile(file, original);
      await version.close();
    }
  });
});
