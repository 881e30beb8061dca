/**
 * What a build publishes: the manifest (model hashes, input files with hashes and row counts, every
 * parameter, per-stage timings, checks), candidate lists without seen items for every known user,
 * exact and HNSW retrieval agreeing, and HNSW split over threads giving the same lists.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex, DEFAULTS, type BuildIndexOptions } from '../../indexer/buildIndex.js';
import { loadInteractions } from '../../shared/data/readers.js';
import { silentLogger } from '../../shared/log.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import { sharedFixture, USERS, ITEMS, type SharedFixture } from './fixture.js';

let fx: SharedFixture;
let root: string;
let seen: Map<string, Set<string>>;

beforeAll(async () => {
  fx = await sharedFixture();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-build-'));
  seen = new Map();
  for (const r of await loadInteractions(path.join(fx.world, 'interactions.arrow'))) {
    let s = seen.get(r.userId);
    if (!s) seen.set(r.userId, (s = new Set()));
    s.add(r.itemId);
  }
});

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

let n = 0;
async function build(opts: Partial<BuildIndexOptions> = {}): Promise<LoadedVersion> {
  const store = path.join(root, `store-${n++}`);
  await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger, ...opts });
  return loadVersion(store);
}

function lists(v: LoadedVersion): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const u of seen.keys()) out.set(u, Array.from(v.candidates.get(u)?.items ?? []).map((i) => v.itemIds[i]));
  return out;
}

const sha256 = async (file: string) => createHash('sha256').update(await fs.readFile(file)).digest('hex');

describe('a published version', () => {
  let exact: LoadedVersion;
  let hnsw: LoadedVersion;
  beforeAll(async () => {
    exact = await build({ retrieval: 'exact' });
    hnsw = await build({ retrieval: 'hnsw', threads: 2 });
  });
  afterAll(async () => {
    await exact?.close();
    await hnsw?.close();
  });

  it('records model hashes, input files with hashes and row counts, parameters, timings and checks', async () => {
    const m = exact.manifest;
    for (const [file, hash] of Object.entries(m.model.files)) expect(hash).toBe(await sha256(path.join(fx.model, file)));
    expect(Object.keys(m.data.files).sort()).toEqual(['interactions.arrow', 'items.arrow', 'users.arrow']);
    for (const [name, f] of Object.entries(m.data.files)) expect(f.sha256).toBe(await sha256(path.join(fx.world, name)));
    expect(m.data.files['items.arrow'].rows).toBe(ITEMS);
    expect(m.data.files['users.arrow'].rows).toBe(USERS);
    expect(m.params).toMatchObject({ topK: 100, M: DEFAULTS.M, efConstruction: DEFAULTS.efConstruction, ef: DEFAULTS.ef, retrieval: 'exact', batchSize: expect.any(Number), threads: expect.any(Number), minRecall: 0.95 });
    expect(m.params.retrievalEstimateS).toMatchObject({ forced: true });
    for (const stage of ['read_inputs', 'load_model', 'embed_items', 'hnsw_build', 'embed_users', 'user_topk', 'checks', 'total']) {
      expect(m.timingsMs[stage], stage).toBeGreaterThanOrEqual(0);
    }
    expect(m.checks.map((c) => c.name).sort()).toEqual(
      ['ann_recall@100', 'bad_item_vectors', 'bad_user_vectors', 'candidate_lists', 'catalog_coverage', 'item_vectors_distinct', 'items_indexed', 'users_with_candidates'].sort(),
    );
    for (const c of m.checks) expect(c.passed, c.name).toBe(true);
    expect(m.build?.peakRssMb).toBeGreaterThan(0);
    expect(m.counts).toMatchObject({ items: ITEMS, users: USERS, usersWithCandidates: USERS });
  });

  it('gives every known user 100 candidates, none already seen, best first', () => {
    // Violations are collected and compared once: an expect per item would dominate the test.
    const problems: string[] = [];
    for (const v of [exact, hnsw]) {
      for (const [u, list] of lists(v)) {
        if (list.length !== 100) problems.push(`${u}: ${list.length} candidates`);
        const s = seen.get(u) as Set<string>;
        for (const item of list) if (s.has(item)) problems.push(`${u} saw ${item}`);
        const scores = v.candidates.get(u)?.scores as Float32Array;
        for (let i = 1; i < scores.length; i++) if (scores[i] > scores[i - 1] + 1e-6) problems.push(`${u}: score ${i} above ${i - 1}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('HNSW lists agree with the exact lists (the recall check measures the same thing)', () => {
    const e = lists(exact);
    let sum = 0;
    for (const [u, list] of lists(hnsw)) {
      const truth = new Set(e.get(u));
      sum += list.filter((i) => truth.has(i)).length / list.length;
    }
    const recall = sum / seen.size;
    expect(recall).toBeGreaterThan(0.95);
    const check = hnsw.manifest.checks.find((c) => c.name === 'ann_recall@100');
    expect(Math.abs((check?.value ?? 0) - recall)).toBeLessThan(0.03);
  });

  it('stores each known user with their history, and the model used', async () => {
    const [u, s] = seen.entries().next().value as [string, Set<string>];
    const known = exact.users.get(u);
    expect(new Set(known?.history)).toEqual(s);
    expect(exact.model.modelVersion).toBe(exact.manifest.model.version);
  });

  it('HNSW over one thread or two gives the same lists', async () => {
    const one = await build({ retrieval: 'hnsw', threads: 1 });
    expect(lists(one)).toEqual(lists(hnsw));
    await one.close();
  });

  it('towers run in the tower worker give the same lists as on the main thread', async () => {
    const worker = await build({ retrieval: 'hnsw', threads: 2, towerWorker: true });
    const here = await build({ retrieval: 'hnsw', threads: 2, towerWorker: false });
    expect(worker.manifest.timingsMs).toHaveProperty('start_tower_worker');
    expect(here.manifest.timingsMs).not.toHaveProperty('start_tower_worker');
    expect(lists(worker)).toEqual(lists(here));
    await worker.close();
    await here.close();
  });
});

describe('--device', () => {
  it('cuda where onnxruntime has none is refused with the reason; auto falls back to the CPU and says so', async () => {
    const ort = await import('onnxruntime-node');
    if (ort.listSupportedBackends().some((b) => b.name === 'cuda')) return; // a CUDA machine: nothing to refuse
    await expect(buildIndex({ data: fx.world, model: fx.model, store: path.join(root, 'cuda'), logger: silentLogger, device: 'cuda' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/device 'cuda' requested, but onnxruntime cannot use CUDA here/),
    });
    const v = await build({ device: 'auto' });
    expect(v.manifest.params).toMatchObject({ device: 'auto', deviceUsed: 'cpu' });
    await v.close();
  });
});

describe('inputs without a users table', () => {
  it('users known only from interactions get lists too', async () => {
    const dir = path.join(root, 'no-users');
    await fs.mkdir(dir);
    await fs.copyFile(path.join(fx.world, 'items.arrow'), path.join(dir, 'items.arrow'));
    await fs.copyFile(path.join(fx.world, 'interactions.arrow'), path.join(dir, 'interactions.arrow'));
    const v = await build({ data: dir });
    expect(v.manifest.counts.users).toBe(seen.size);
    expect(Object.keys(v.manifest.data.files).sort()).toEqual(['interactions.arrow', 'items.arrow']);
    for (const [u, list] of lists(v)) expect(list.length, u).toBe(100);
    await v.close();
  });
});
