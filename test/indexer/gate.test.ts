/**
 * The validation gate: a model whose item tower outputs NaN or one constant vector passes the
 * model contract but is refused before publishing (exit code 4, CURRENT unchanged, the report
 * names the failed check); --force publishes anyway and says so; a too-strict threshold fails the
 * recall check of a healthy build the same way.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/buildIndex.js';
import { loadModel } from '../../models/model.js';
import { silentLogger } from '../../shared/log.js';
import type { IndexManifest } from '../../shared/store/types.js';
import { listVersions, readCurrent, versionDir } from '../../shared/store/versionStore.js';
import { writeBadModel } from './badModel.js';
import { cli, lastLine, sharedFixture, type SharedFixture } from './fixture.js';

let fx: SharedFixture;
let root: string;
let store: string;
let good: string;

beforeAll(async () => {
  fx = await sharedFixture();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-gate-'));
  store = path.join(root, 'store');
  good = (await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger })).version;
});

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const build = (model: string, ...extra: string[]) => cli(['index', 'build', '--data', fx.world, '--model', model, '--store', store, '--json-log', ...extra]);

describe('validation gate', () => {
  it('the broken models meet the model contract (only the gate can catch them)', async () => {
    for (const kind of ['nan', 'constant'] as const) {
      const m = await loadModel(await writeBadModel(fx.model, path.join(root, `contract-${kind}`), kind));
      const v = await m.embedItems([{ itemId: 'x', category: null, tags: [], numeric: {} }]);
      expect(v.length).toBe(m.dim);
      await m.close();
    }
  });

  it('refuses an item tower that outputs NaN: exit 4, nothing published, CURRENT unchanged', async () => {
    const model = await writeBadModel(fx.model, path.join(root, 'nan'), 'nan');
    const r = await build(model);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/VALIDATION_FAILED: refusing to publish v\S+: bad_item_vectors=1500 \(needs <= 0\)/);
    expect(lastLine(r.stdout)).toBe(`nothing published; CURRENT is ${good}`);
    expect(await readCurrent(store)).toBe(good);
    expect(await listVersions(store)).toEqual([good]);
  });

  it('refuses a collapsed item tower (one vector for every item), and --force publishes it, saying so', async () => {
    const model = await writeBadModel(fx.model, path.join(root, 'constant'), 'constant');
    const r = await build(model);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/item_vectors_distinct=0\.000667 \(needs >= 0\.5\)/);
    expect(await readCurrent(store)).toBe(good);

    const forced = await build(model, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(lastLine(forced.stdout)).toMatch(/^published v\S+ .*FORCED past item_vectors_distinct/);
    const current = (await readCurrent(store)) as string;
    expect(current).not.toBe(good);
    const m = JSON.parse(await fs.readFile(path.join(versionDir(store, current), 'manifest.json'), 'utf8')) as IndexManifest;
    expect(m.params.force).toBe(true);
    expect(m.checks.find((c) => c.name === 'item_vectors_distinct')).toMatchObject({ passed: false, threshold: 0.5 });
  });

  it('a failed recall check refuses a healthy build too, naming value and threshold', async () => {
    const before = await readCurrent(store);
    const r = await build(fx.model, '--retrieval', 'hnsw', '--min-recall', '1.01');
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/ann_recall@100=[\d.]+ \(needs >= 1\.01\)/);
    // The JSON log carries every check with its value and threshold.
    const checks = r.stderr.split('\n').filter((l) => l.includes('"event":"checks"'));
    expect(checks).toHaveLength(1);
    expect(JSON.parse(checks[0]).checks.length).toBeGreaterThanOrEqual(8);
    expect(await readCurrent(store)).toBe(before);
  });
});
