/**
 * Embedding the catalog in worker threads (each with its own model, alternate batches) gives the
 * same matrix and categories as on the main thread, and a bad row fails with its file, row and
 * column and the BAD_INPUT code, as it would on the main thread.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedCatalog } from '../../indexer/embedTables.js';
import { readIndexerInputs } from '../../indexer/inputs.js';
import { loadModel, type LoadedModel } from '../../models/model.js';
import { Table, tableToIPC } from 'apache-arrow';
import { float64Vector, utf8Vector } from '../../shared/data/arrowColumns.js';
import { loadItems } from '../../shared/data/readers.js';
import { sharedFixture, type SharedFixture } from './fixture.js';

let fx: SharedFixture;
let model: LoadedModel;
let root: string;

beforeAll(async () => {
  fx = await sharedFixture();
  model = await loadModel(fx.model);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-embed-'));
});
afterAll(async () => {
  await model?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe('catalog embedding in worker threads', () => {
  it('matches the main-thread embedding exactly', async () => {
    const inputs = await readIndexerInputs(fx.world);
    const serial = await embedCatalog(inputs, model, 256);
    const parallel = await embedCatalog(inputs, model, 256, undefined, { modelDir: fx.model, device: 'cpu', workers: 2 });
    expect(parallel.vectors.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(parallel.vectors.buffer).equals(Buffer.from(serial.vectors.buffer))).toBe(true);
    expect(parallel.categories).toEqual(serial.categories);
    expect(Array.from(parallel.category)).toEqual(Array.from(serial.category));
  });

  it('a bad value in a worker thread is a BAD_INPUT naming file, row and column', async () => {
    const items = await loadItems(path.join(fx.world, 'items.arrow'));
    const dir = path.join(root, 'bad');
    await fs.mkdir(dir);
    for (const f of ['users.arrow', 'interactions.arrow']) await fs.copyFile(path.join(fx.world, f), path.join(dir, f));
    // num_price as text, with one value that is not a number, deep in the second worker's batches.
    const table = new Table({
      item_id: utf8Vector(items.map((i) => i.itemId)),
      num_price: utf8Vector(items.map((i, r) => (r === 1300 ? 'cheap' : String(i.numeric.num_price ?? 1)))),
      num_quality: float64Vector(items.map((i) => i.numeric.num_quality ?? null)),
    });
    await fs.writeFile(path.join(dir, 'items.arrow'), tableToIPC(table, 'file'));
    const inputs = await readIndexerInputs(dir);
    await expect(embedCatalog(inputs, model, 256, undefined, { modelDir: fx.model, device: 'cpu', workers: 2 })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/items\.arrow, row 1301, column 'num_price': non-numeric value 'cheap'/),
    });
  });
});
