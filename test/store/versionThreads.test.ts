/**
 * A loaded version holds its HNSW index and its model in worker threads of their own
 * (shared/store/indexThread.ts, models/workerModel.ts), so that neither a load nor a search holds
 * the ranker's HTTP thread. Searches must answer as hnswlib does in this thread, and no version,
 * served or refused at any step, may leave a thread behind.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwoTowerError } from '../../shared/errors.js';
import { writeChecksums } from '../../shared/store/checksums.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { IndexManifest } from '../../shared/store/types.js';
import { versionDir } from '../../shared/store/versionStore.js';
import { buildFixture, type RankerFixture } from '../ranker/fixture.js';
import { waitFor } from '../reliability/helpers.js';

let fx: RankerFixture;

beforeAll(async () => {
  fx = await buildFixture({ seed: 5, items: 800, users: 300 });
});
afterAll(async () => {
  await fx?.cleanup();
});

/** Threads of this process, from /proc (Linux, where CI runs); null elsewhere. */
function osThreads(): number | null {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  } catch {
    return null;
  }
}

/** Waits until the process is back to `baseline` threads (a finished worker takes a moment to go). */
async function expectThreadsBackTo(baseline: number | null, what: string): Promise<void> {
  if (baseline === null) return;
  await waitFor(`${what}: back to ${baseline} threads (now ${osThreads()})`, () => (osThreads() ?? 0) <= baseline, 10_000);
}

let copies = 0;
/** A copy of the fixture's version under a new id, damaged by `edit`, checksums re-recorded. */
async function damagedCopy(edit: (dir: string) => Promise<void>): Promise<string> {
  const id = `v20990101T0000${String(10 + copies++).padStart(2, '0')}Z-b0000${copies}`;
  const dir = versionDir(fx.store, id);
  await fs.cp(versionDir(fx.store, fx.versionId), dir, { recursive: true });
  for (const f of await fs.readdir(dir)) if (f.endsWith('-lock')) await fs.rm(path.join(dir, f));
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as IndexManifest;
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ ...manifest, version: id }));
  await edit(dir);
  await writeChecksums(dir);
  return id;
}

describe('a version in worker threads', () => {
  it('searches as hnswlib does in this thread, and closing it ends its threads', async () => {
    // One load first: onnxruntime and the worker machinery start what they keep for the process.
    await (await loadVersion(fx.store)).close();
    const baseline = osThreads();

    const v = await loadVersion(fx.store);
    if (baseline !== null) expect(osThreads()).toBeGreaterThan(baseline);
    const local = new hnswlib.HierarchicalNSW('ip', v.dim);
    await local.readIndex(path.join(v.dir, 'hnsw.bin'));
    local.setEf(v.manifest.params.ef ?? 100);
    expect(v.index.count).toBe(v.itemIds.length);
    for (const item of [0, 17, v.itemIds.length - 1]) {
      const query = v.embeddings.slice(item * v.dim, (item + 1) * v.dim);
      const there = await v.index.search(query, 25);
      const here = local.searchKnn(Array.from(query), 25);
      expect(Array.from(there.labels)).toEqual(here.neighbors);
      expect(Array.from(there.distances)).toEqual(here.distances.map((d) => Math.fround(d)));
    }
    // Searches in flight together each get their own answer.
    const queries = [3, 4, 5, 6].map((i) => v.embeddings.slice(i * v.dim, (i + 1) * v.dim));
    const together = await Promise.all(queries.map((q) => v.index.search(q, 10)));
    together.forEach((r, i) => expect(Array.from(r.labels)).toEqual(local.searchKnn(Array.from(queries[i]), 10).neighbors));

    await v.close();
    await expect(v.index.search(queries[0], 5)).rejects.toThrow(/hnsw\.bin is closed/);
    await expect(v.model.embedUsers([{ userId: null, user: null, history: [] }])).rejects.toThrow(/is closed/);
    await expectThreadsBackTo(baseline, 'after close');
  });

  it('a version refused after one of its threads started leaves no thread behind', async () => {
    await (await loadVersion(fx.store)).close();
    const baseline = osThreads();
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      // The model loads, the index is refused.
      ['hnsw.bin of another size', async (dir) => {
        const m = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as IndexManifest;
        const other = new hnswlib.HierarchicalNSW('ip', m.model.dim);
        other.initIndex(5);
        for (let i = 0; i < 5; i++) other.addPoint(Array.from({ length: m.model.dim }, (_, d) => (d === i ? 1 : 0)), i);
        await other.writeIndex(path.join(dir, 'hnsw.bin'));
      }, /versions\/\S+\/hnsw\.bin: holds 5 items, manifest says 800/],
      // The index loads, the model is refused.
      ['ranker.onnx missing', (dir) => fs.rm(path.join(dir, 'model', 'ranker.onnx')), /ranker\.onnx: is missing/],
      // Both load; the model is not the one the manifest names.
      ['another model version in the manifest', async (dir) => {
        const file = path.join(dir, 'manifest.json');
        const m = JSON.parse(await fs.readFile(file, 'utf8')) as IndexManifest;
        await fs.writeFile(file, JSON.stringify({ ...m, model: { ...m.model, version: 'm-someone-else' } }));
      }, /model .* does not match the manifest/],
    ];
    for (const [name, damage, message] of cases) {
      const id = await damagedCopy(damage);
      const err = await loadVersion(fx.store, id).then(
        async (v) => {
          await v.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(TwoTowerError);
      expect((err as Error).message, name).toMatch(message);
      await expectThreadsBackTo(baseline, name);
    }
  });
});
