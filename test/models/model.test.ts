import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwoTowerError } from '../../shared/errors.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';
import type { ModelManifest } from '../../models/manifest.js';
import { loadModel } from '../../models/model.js';
import { GraphBuilder } from '../../models/onnx/builder.js';
import type { UserQuery } from '../../models/types.js';
import { embedAllItems } from '../../models/train/trainTowers.js';
import { writeTinyModel, type TinyModel } from './tinyModel.js';

let tmp: string;
let good: string;
let tiny: TinyModel;
let copies = 0;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'twotower-model-'));
  good = join(tmp, 'good');
  tiny = await writeTinyModel(good);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A copy of the good model folder to damage. */
async function copy(): Promise<string> {
  const dir = join(tmp, `copy-${copies++}`);
  await cp(good, dir, { recursive: true });
  return dir;
}

async function editManifest(dir: string, edit: (m: ModelManifest & Record<string, unknown>) => void): Promise<void> {
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(await readFile(path, 'utf8'));
  edit(m);
  await writeFile(path, JSON.stringify(m));
}

async function loadError(dir: string, opts?: Parameters<typeof loadModel>[1]): Promise<TwoTowerError> {
  try {
    const m = await loadModel(dir, opts);
    await m.close();
  } catch (err) {
    expect(err).toBeInstanceOf(TwoTowerError);
    return err as TwoTowerError;
  }
  throw new Error(`loadModel(${dir}) succeeded but should have failed`);
}

describe('loadModel', () => {
  it('loads a model folder and exposes the contract', async () => {
    const model = await loadModel(good);
    try {
      expect(model.dim).toBe(8);
      expect(model.similarity).toBe('cosine');
      expect(model.device).toBe('cpu');
      expect(model.rankerFeatures).toEqual([...RANK_FEATURES]);
      expect(model.modelVersion).toMatch(/^m-[0-9a-f]{12}$/);
      const files = (await readdir(good)).sort();
      expect(Object.keys(model.fileHashes).sort()).toEqual(files);
      for (const f of files) {
        expect(model.fileHashes[f]).toBe(createHash('sha256').update(await readFile(join(good, f))).digest('hex'));
      }
    } finally {
      await model.close();
    }
  });

  it('embeds items like the trainer, unit-norm, and answers concurrent calls correctly', async () => {
    const model = await loadModel(good, { intraOpThreads: 1 });
    try {
      const { world, data, itemNet } = tiny;
      const ours = embedAllItems(data, itemNet);
      const all = await model.embedItems(world.items);
      for (let i = 0; i < all.length; i++) expect(Math.abs(all[i] - ours[i])).toBeLessThan(1e-4);
      for (let i = 0; i < world.items.length; i++) {
        let n = 0;
        for (let d = 0; d < 8; d++) n += all[i * 8 + d] ** 2;
        expect(Math.sqrt(n)).toBeCloseTo(1, 4);
      }
      // Many overlapping calls on the same sessions: each gets its own rows back.
      const slices = Array.from({ length: 12 }, (_, k) => world.items.slice(k * 10, k * 10 + 10));
      const results = await Promise.all(slices.map((s) => model.embedItems(s)));
      results.forEach((r, k) => expect(Array.from(r)).toEqual(Array.from(all.subarray(k * 80, k * 80 + 80))));
      expect((await model.embedItems([])).length).toBe(0);
    } finally {
      await model.close();
    }
  });

  it('embeds unknown users, null ids and unknown history items through the unknown slots', async () => {
    const model = await loadModel(good);
    try {
      const known = tiny.world.items.slice(0, 3).map((r) => r.itemId);
      const queries: UserQuery[] = [
        { userId: null, user: null, history: [] },
        { userId: 'nobody', user: null, history: ['no-such-item', ...known] },
        { userId: null, user: null, history: known },
      ];
      const e = await model.embedUsers(queries);
      expect(e.length).toBe(24);
      expect(e.every((x) => Number.isFinite(x))).toBe(true);
      // An unknown id and unknown history items are the same as no id and skipped items.
      expect(Array.from(e.subarray(8, 16))).toEqual(Array.from(e.subarray(16, 24)));
    } finally {
      await model.close();
    }
  });

  it('scoreRanker checks its input size and a closed model refuses work', async () => {
    const model = await loadModel(good);
    const F = RANK_FEATURES.length;
    expect((await model.scoreRanker(new Float32Array(3 * F), 3)).length).toBe(3);
    await expect(model.scoreRanker(new Float32Array(5), 1)).rejects.toThrow(`scoreRanker: 1 rows of ${F} features need ${F} values, got 5`);
    await model.close();
    await expect(model.embedItems(tiny.world.items.slice(0, 1))).rejects.toThrow(/is closed/);
  });

  it("refuses a manifest input that the ONNX file lacks", async () => {
    const dir = await copy();
    await editManifest(dir, (m) => {
      m.itemTower.inputs.find((i) => i.name === 'tags')!.name = 'tag_ids';
    });
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_CONTRACT');
    expect(err.message).toBe("item_tower.onnx: has no input 'tag_ids' (manifest names it; the file has 'item_id', 'category', 'tags', 'numeric')");
  });

  it('refuses an ONNX input whose dtype differs from the manifest', async () => {
    const dir = await copy();
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
    // An item tower that takes 'tags' as float32: otherwise the same inputs and output.
    const g = new GraphBuilder('bad_item_tower');
    for (const inp of manifest.itemTower.inputs) g.input(inp.name, inp.name === 'tags' ? 'float32' : inp.dtype, inp.shape);
    const numeric = manifest.itemTower.inputs.find((i) => i.kind === 'numeric')!;
    const n = numeric.shape[1] as number;
    g.op('MatMul', [numeric.name, g.floatTensor('w', [n, 8], new Float32Array(n * 8))], {}, 'embedding');
    g.output('embedding', 'float32', ['batch', 8]);
    await writeFile(join(dir, 'item_tower.onnx'), g.toBytes());
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_CONTRACT');
    expect(err.message).toBe("item_tower.onnx: input 'tags' is float32, manifest says int64");
  });

  it('refuses a fixed dimension that differs from the manifest', async () => {
    const dir = await copy();
    let L = 0;
    await editManifest(dir, (m) => {
      const h = m.userTower.inputs.find((i) => i.kind === 'history')!;
      L = h.shape[1] as number;
      h.shape = ['batch', L + 1];
      (h as { maxLength: number }).maxLength = L + 1;
    });
    const err = await loadError(dir);
    expect(err.message).toBe(`user_tower.onnx: input 'history' dimension 1 is fixed to ${L} in the file, manifest says ${L + 1}`);
  });

  it('refuses a folder with a missing file', async () => {
    const dir = await copy();
    await rm(join(dir, 'ranker.onnx'));
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_CONTRACT');
    expect(err.message).toBe(`ranker.onnx: is missing in model folder ${dir}`);
  });

  it('refuses a truncated ONNX file', async () => {
    const dir = await copy();
    const path = join(dir, 'user_tower.onnx');
    const size = (await readFile(path)).length;
    await truncate(path, Math.floor(size / 2));
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_CONTRACT');
    expect(err.message).toMatch(/^user_tower\.onnx: onnxruntime cannot load it \(.+\)$/);
  });

  it('refuses a manifest with a missing or bad field, naming the field', async () => {
    const dir = await copy();
    await editManifest(dir, (m) => {
      delete (m as Record<string, unknown>).embeddingDim;
    });
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_CONTRACT');
    expect(err.message).toBe(`${join(dir, 'manifest.json')}: field 'embeddingDim' is missing`);

    await editManifest(dir, (m) => {
      m.embeddingDim = 8;
      m.itemTower.inputs[0].dtype = 'float32';
    });
    expect((await loadError(dir)).message).toBe(`${join(dir, 'manifest.json')}: field 'itemTower.inputs[0].dtype' a 'id' input must be int64, got float32`);

    await editManifest(dir, (m) => {
      m.itemTower.inputs[0].dtype = 'int64';
      m.format = 'twotower-model/9' as never;
    });
    expect((await loadError(dir)).message).toBe(`${join(dir, 'manifest.json')}: field 'format' must be 'twotower-model/1', got 'twotower-model/9'`);
  });

  it('refuses a vocabulary whose size differs from the manifest, or that outgrows its table', async () => {
    const dir = await copy();
    const n = tiny.data.nItems;
    await editManifest(dir, (m) => {
      m.vocabularies.items.size = n + 5;
    });
    expect((await loadError(dir)).message).toBe(`items.vocab.json: vocabulary 'items' has ${n} values, manifest says ${n + 5}`);

    // Same size in both places, but the ONNX table was built for n items.
    const values = JSON.parse(await readFile(join(dir, 'items.vocab.json'), 'utf8')) as string[];
    await writeFile(join(dir, 'items.vocab.json'), JSON.stringify([...values, 'a', 'b', 'c', 'd', 'e']));
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_CONTRACT');
    expect(err.message).toMatch(/^item_tower\.onnx: a test run with the largest vocabulary indices failed \(.+\)$/);
  });

  it('refuses ranker features that differ from the features serving computes', async () => {
    const dir = await copy();
    await editManifest(dir, (m) => {
      m.ranker.features = [...RANK_FEATURES].reverse();
    });
    expect((await loadError(dir)).message).toMatch(/^ranker\.onnx: ranker features \[has_session, .*\] differ from the features this build computes \[retrieval_score, /);
  });

  it("device 'cuda' fails clearly without a CUDA execution provider; 'auto' falls back to cpu", async () => {
    const auto = await loadModel(good, { device: 'auto' });
    const hasCuda = auto.device === 'cuda';
    await auto.close();
    if (hasCuda) return; // a machine with CUDA: nothing to refuse
    const err = await loadError(good, { device: 'cuda' });
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/^device 'cuda' requested, but onnxruntime cannot use CUDA here: /);
  });
});
