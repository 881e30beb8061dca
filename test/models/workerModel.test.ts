/**
 * The model a version loads runs in a worker thread (models/workerModel.ts). It must answer as
 * the same model loaded in this thread would, refuse a bad folder with the same error, and fail
 * calls cleanly when its thread goes away.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwoTowerError } from '../../shared/errors.js';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';
import { loadModel } from '../../models/model.js';
import type { UserQuery } from '../../models/types.js';
import { loadModelInWorker } from '../../models/workerModel.js';
import { writeTinyModel, type TinyModel } from './tinyModel.js';

let tmp: string;
let good: string;
let tiny: TinyModel;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'twotower-workermodel-'));
  good = join(tmp, 'good');
  tiny = await writeTinyModel(good);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('loadModelInWorker', () => {
  it('answers exactly as the model loaded in this thread', async () => {
    const [here, there] = await Promise.all([loadModel(good), loadModelInWorker(good)]);
    try {
      expect(there.modelVersion).toBe(here.modelVersion);
      expect(there.dim).toBe(here.dim);
      expect(there.similarity).toBe(here.similarity);
      expect(there.rankerFeatures).toEqual(here.rankerFeatures);
      expect(there.fileHashes).toEqual(here.fileHashes);
      expect(there.device).toBe('cpu');

      const items = tiny.world.items.slice(0, 20);
      expect(Array.from(await there.embedItems(items))).toEqual(Array.from(await here.embedItems(items)));
      const history = items.slice(0, 4).map((r) => r.itemId);
      const queries: UserQuery[] = [
        { userId: tiny.world.users[0].userId, user: tiny.world.users[0], history },
        { userId: null, user: null, history: ['no-such-item', ...history] },
      ];
      const users = await there.embedUsers(queries);
      expect(users.length).toBe(2 * here.dim);
      expect(Array.from(users)).toEqual(Array.from(await here.embedUsers(queries)));
      const F = RANK_FEATURES.length;
      const features = Float32Array.from({ length: 5 * F }, (_, i) => (i % 7) / 7);
      expect(Array.from(await there.scoreRanker(features, 5))).toEqual(Array.from(await here.scoreRanker(features, 5)));

      // Overlapping calls each get their own answer back.
      const slices = Array.from({ length: 8 }, (_, k) => items.slice(k * 2, k * 2 + 2));
      const together = await Promise.all(slices.map((s) => there.embedItems(s)));
      const alone = await there.embedItems(items.slice(0, 16));
      together.forEach((r, k) => expect(Array.from(r)).toEqual(Array.from(alone.subarray(k * 16, k * 16 + 16))));
      expect((await there.embedUsers([])).length).toBe(0);
    } finally {
      await Promise.all([here.close(), there.close()]);
    }
  });

  it('passes on a call refused in the worker with its code and message', async () => {
    const model = await loadModelInWorker(good);
    try {
      const err = await model.scoreRanker(new Float32Array(5), 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TwoTowerError);
      expect((err as TwoTowerError).code).toBe('BAD_INPUT');
      expect((err as TwoTowerError).message).toBe(`scoreRanker: 1 rows of ${RANK_FEATURES.length} features need ${RANK_FEATURES.length} values, got 5`);
      // The worker still serves after a refused call.
      expect((await model.scoreRanker(new Float32Array(RANK_FEATURES.length), 1)).length).toBe(1);
    } finally {
      await model.close();
    }
  });

  it('refuses a bad model folder with the error loadModel gives, and leaves no thread behind', async () => {
    const dir = join(tmp, 'bad');
    await cp(good, dir, { recursive: true });
    await writeFile(join(dir, 'ranker.onnx'), 'not an onnx file');
    const inThread = await loadModel(dir).then(
      () => null,
      (e: unknown) => e as TwoTowerError,
    );
    const inWorker = await loadModelInWorker(dir).then(
      () => null,
      (e: unknown) => e as TwoTowerError,
    );
    expect(inThread).toBeInstanceOf(TwoTowerError);
    expect(inWorker).toBeInstanceOf(TwoTowerError);
    expect(inWorker!.code).toBe('MODEL_CONTRACT');
    expect(inWorker!.message).toBe(inThread!.message);
    expect(inWorker!.details).toEqual({ file: 'ranker.onnx' });
  });

  it('close lets calls under way finish, then refuses new ones', async () => {
    const model = await loadModelInWorker(good);
    const under = model.embedItems(tiny.world.items);
    const closed = model.close();
    expect((await under).length).toBe(tiny.world.items.length * model.dim);
    await closed;
    await expect(model.embedUsers([{ userId: null, user: null, history: [] }])).rejects.toThrow(/model m-[0-9a-f]+ is closed/);
    await model.close(); // again: nothing to do
  });

  it('a thread that dies fails the calls waiting on it and every later call, naming the worker', async () => {
    const model = await loadModelInWorker(good);
    const worker = (model as unknown as { client: { terminate(): Promise<number> } }).client;
    const waiting = model.embedItems(tiny.world.items).catch((e: unknown) => e);
    await worker.terminate();
    const err = (await waiting) as Error | Float32Array;
    // The call may have been answered before the thread went; if not, it must fail, not hang.
    if (!(err instanceof Float32Array)) expect(err.message).toMatch(/model worker of model m-[0-9a-f]+ exited \(code 1\)/);
    const later = await model.embedItems(tiny.world.items.slice(0, 1)).catch((e: unknown) => e as TwoTowerError);
    expect(later).toBeInstanceOf(TwoTowerError);
    expect((later as TwoTowerError).code).toBe('INTERNAL');
    expect((later as TwoTowerError).message).toMatch(/model worker of model m-[0-9a-f]+ exited \(code 1\)/);
    await model.close(); // a dead thread: nothing to release, and no hang
  });
});
