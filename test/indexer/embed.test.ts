/**
 * The embedding stages' fast paths give exactly what the row path gives:
 * - Arrow tables encoded from their columns (columnFeeds.ts) against the same tables as CSV, which
 *   go through row objects and features.ts; including values the byte path hands to the string
 *   path (whitespace to trim, empty tags, nulls) and a batch size that slices record batches.
 * - Towers run in a worker thread (TowerRunner) against this thread.
 * And a bad value fails with its file, row and column and the BAD_INPUT code on either path.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Table, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedCatalog, embedUsers, HISTORY_FOR_TOWER, historyWindow } from '../../indexer/embedTables.js';
import { readIndexerInputs } from '../../indexer/inputs.js';
import { TowerRunner } from '../../indexer/towerRunner.js';
import { loadModel, type LoadedModel } from '../../models/model.js';
import { float64Vector, utf8Vector } from '../../shared/data/arrowColumns.js';
import { loadItems, loadUsers } from '../../shared/data/readers.js';
import type { ItemRow, UserRow } from '../../shared/data/types.js';
import { sharedFixture, type SharedFixture } from './fixture.js';

let fx: SharedFixture;
let model: LoadedModel;
let root: string;
let items: ItemRow[];
let users: UserRow[];

beforeAll(async () => {
  fx = await sharedFixture();
  model = await loadModel(fx.model);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-embed-'));
  items = await loadItems(path.join(fx.world, 'items.arrow'));
  users = await loadUsers(path.join(fx.world, 'users.arrow'));
});
afterAll(async () => {
  await model?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Catalog values the byte path cannot take as they are, spread over the rows. */
function awkwardItems(): ItemRow[] {
  return items.map((it, r) => {
    if (r % 7 === 1) return { ...it, category: ` ${it.category ?? ''} `, tags: [` ${it.tags[0] ?? 'x'}`, '', ...it.tags.slice(1)] };
    if (r % 11 === 2) return { ...it, category: null, tags: [] };
    if (r % 13 === 3) return { ...it, category: 'never-seen-category', tags: ['never-seen-tag', ...it.tags] };
    return it;
  });
}

/** The catalog as Arrow (tags '|'-joined Utf8, as the generator writes them) and as CSV. */
async function writeCatalog(dir: string, rows: ItemRow[], batchRows?: number): Promise<void> {
  await fs.mkdir(path.join(dir, 'arrow'), { recursive: true });
  await fs.mkdir(path.join(dir, 'csv'), { recursive: true });
  for (const f of ['users.arrow', 'interactions.arrow']) {
    await fs.copyFile(path.join(fx.world, f), path.join(dir, 'arrow', f));
    await fs.copyFile(path.join(fx.world, f), path.join(dir, 'csv', f));
  }
  const table = new Table({
    item_id: utf8Vector(rows.map((i) => i.itemId)),
    category: utf8Vector(rows.map((i) => i.category)),
    tags: utf8Vector(rows.map((i) => (i.tags.length || i.category !== null ? i.tags.join('|') : null))),
    num_price: float64Vector(rows.map((i, r) => (r % 17 === 5 ? null : (i.numeric.num_price ?? null)))),
    num_quality: float64Vector(rows.map((i) => i.numeric.num_quality ?? null)),
  });
  // One big record batch (sliced by the reader) unless asked for several.
  const ipc = batchRows ? tableToIPC(new Table(table.batches.flatMap((b) => chunks(b, batchRows))), 'file') : tableToIPC(table, 'file');
  await fs.writeFile(path.join(dir, 'arrow', 'items.arrow'), ipc);
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const csv = ['item_id,category,tags,num_price,num_quality'];
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r];
    const price = r % 17 === 5 ? '' : String(i.numeric.num_price ?? '');
    csv.push([quote(i.itemId), i.category === null ? '' : quote(i.category), quote(i.tags.join('|')), price, String(i.numeric.num_quality ?? '')].join(','));
  }
  await fs.writeFile(path.join(dir, 'csv', 'items.csv'), csv.join('\n') + '\n');
}

function chunks<T extends { numRows: number; slice(a: number, b: number): T }>(b: T, size: number): T[] {
  const out: T[] = [];
  for (let s = 0; s < b.numRows; s += size) out.push(b.slice(s, s + size));
  return out;
}

describe('catalog embedding from Arrow columns', () => {
  it('matches the row path (CSV) exactly, awkward values included, whatever the batch size', async () => {
    const dir = path.join(root, 'awkward');
    await writeCatalog(dir, awkwardItems());
    const fromCsv = await embedCatalog(await readIndexerInputs(path.join(dir, 'csv')), model, 256);
    for (const batch of [256, 1000, 4096]) {
      const fromArrow = await embedCatalog(await readIndexerInputs(path.join(dir, 'arrow')), model, batch);
      expect(bytesOf(fromArrow.vectors).equals(bytesOf(fromCsv.vectors))).toBe(true);
      expect(fromArrow.categories).toEqual(fromCsv.categories);
      expect(Array.from(fromArrow.category)).toEqual(Array.from(fromCsv.category));
    }
    // The awkward rows did reach the string path: their trimmed categories are the plain ones.
    expect(fromCsv.categories).not.toContain(` ${items[1].category} `);
    expect(fromCsv.categories).toContain('never-seen-category');
  });

  it('reads a file of many record batches as it reads one', async () => {
    const dir = path.join(root, 'many-batches');
    await writeCatalog(dir, items, 97);
    const rows = await embedCatalog(await readIndexerInputs(path.join(dir, 'csv')), model, 300);
    const many = await embedCatalog(await readIndexerInputs(path.join(dir, 'arrow')), model, 300);
    expect(bytesOf(many.vectors).equals(bytesOf(rows.vectors))).toBe(true);
  });

  it('a non-finite number is a BAD_INPUT naming file, row and column, as on the row path', async () => {
    const dir = path.join(root, 'nan');
    await writeCatalog(dir, items.map((it, r) => (r === 1300 ? { ...it, numeric: { ...it.numeric, num_quality: Number.NaN } } : it)));
    await expect(embedCatalog(await readIndexerInputs(path.join(dir, 'arrow')), model, 256)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/items\.arrow, row 1301, column 'num_quality': NaN is not a finite number/),
    });
  });

  it('a number column stored as text takes the row path and fails there with its row', async () => {
    const dir = path.join(root, 'text-number');
    await fs.mkdir(dir);
    for (const f of ['users.arrow', 'interactions.arrow']) await fs.copyFile(path.join(fx.world, f), path.join(dir, f));
    const table = new Table({
      item_id: utf8Vector(items.map((i) => i.itemId)),
      num_price: utf8Vector(items.map((i, r) => (r === 1300 ? 'cheap' : String(i.numeric.num_price ?? 1)))),
      num_quality: float64Vector(items.map((i) => i.numeric.num_quality ?? null)),
    });
    await fs.writeFile(path.join(dir, 'items.arrow'), tableToIPC(table, 'file'));
    await expect(embedCatalog(await readIndexerInputs(dir), model, 256)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/items\.arrow, row 1301, column 'num_price': non-numeric value 'cheap'/),
    });
  });

  it('a catalog replaced between the id pass and the embedding pass is refused at the first changed row', async () => {
    const dir = path.join(root, 'replaced');
    await writeCatalog(dir, items);
    const inputs = await readIndexerInputs(path.join(dir, 'arrow'));
    await writeCatalog(dir, items.map((it, r) => (r === 700 ? { ...it, itemId: `${it.itemId}-new` } : it)));
    await expect(embedCatalog(inputs, model, 256)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/items\.arrow, row 701, column 'item_id': the file changed while the index was being built/),
    });
  });
});

describe('user embedding from Arrow columns', () => {
  it('matches the row path (CSV users table), including users known only from interactions', async () => {
    const dir = path.join(root, 'users');
    await fs.mkdir(path.join(dir, 'arrow'), { recursive: true });
    await fs.mkdir(path.join(dir, 'csv'), { recursive: true });
    // The last 100 users are left out of the table: they are known from their interactions only.
    const kept = users.slice(0, users.length - 100);
    const cats = Object.keys(kept[0].categorical);
    const nums = Object.keys(kept[0].numeric);
    const cols: Record<string, ReturnType<typeof utf8Vector> | ReturnType<typeof float64Vector>> = { user_id: utf8Vector(kept.map((u) => u.userId)) };
    for (const c of cats) cols[c] = utf8Vector(kept.map((u, r) => (r % 9 === 4 ? ` ${u.categorical[c]}` : (u.categorical[c] ?? null))));
    for (const c of nums) cols[c] = float64Vector(kept.map((u) => u.numeric[c] ?? null));
    await fs.writeFile(path.join(dir, 'arrow', 'users.arrow'), tableToIPC(new Table(cols), 'file'));
    const csv = [['user_id', ...cats, ...nums].join(',')];
    kept.forEach((u, r) => csv.push([u.userId, ...cats.map((c) => (r % 9 === 4 ? ` ${u.categorical[c]}` : (u.categorical[c] ?? ''))), ...nums.map((c) => String(u.numeric[c] ?? ''))].join(',')));
    await fs.writeFile(path.join(dir, 'csv', 'users.csv'), csv.join('\n') + '\n');
    for (const d of ['arrow', 'csv']) for (const f of ['items.arrow', 'interactions.arrow']) await fs.copyFile(path.join(fx.world, f), path.join(dir, d, f));

    const rowInputs = await readIndexerInputs(path.join(dir, 'csv'));
    const colInputs = await readIndexerInputs(path.join(dir, 'arrow'));
    expect(colInputs.users.size).toBe(users.length);
    expect(colInputs.usersInTable).toBe(users.length - 100);
    const seen: string[] = [];
    const fromCsv = await embedUsers(rowInputs, model, 128);
    const fromArrow = await embedUsers(colInputs, model, 128, (_start, q) => void seen.push(...q.map((x) => x.userId as string)));
    expect(bytesOf(fromArrow).equals(bytesOf(fromCsv))).toBe(true);
    // The store still gets every user's query, in order.
    expect(seen).toEqual(colInputs.users.ids);
  });
});

describe('the history a user tower gets', () => {
  it('is at least HISTORY_FOR_TOWER items, and the whole of a longer history input (a model trained on whole histories)', () => {
    const spec = model.manifest.userTower;
    const withHistory = (maxLength: number) => ({ ...spec, inputs: spec.inputs.map((i) => (i.kind === 'history' ? { ...i, maxLength } : i)) });
    expect(spec.inputs.some((i) => i.kind === 'history')).toBe(true);
    expect(historyWindow(withHistory(20))).toBe(HISTORY_FOR_TOWER);
    expect(historyWindow(withHistory(1000))).toBe(1000);
  });
});

describe('towers run in a worker thread', () => {
  it('give the same item and user matrices as this thread, and stop cleanly', async () => {
    const inputs = await readIndexerInputs(fx.world);
    const runner = await TowerRunner.start(model, 1);
    try {
      const here = await embedCatalog(inputs, model, 256);
      const there = await embedCatalog(inputs, model, 256, undefined, runner);
      expect(there.vectors.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(bytesOf(there.vectors).equals(bytesOf(here.vectors))).toBe(true);
      expect(there.categories).toEqual(here.categories);
      const usersHere = await embedUsers(inputs, model, 100);
      const usersThere = await embedUsers(inputs, model, 100, undefined, undefined, runner);
      expect(bytesOf(usersThere).equals(bytesOf(usersHere))).toBe(true);
    } finally {
      await runner.close();
    }
    await expect(runner.run('item', [], 1, new Float32Array(new SharedArrayBuffer(64)), 0)).rejects.toThrow(/closed/);
  });

  it('a run the model refuses rejects that batch with the model contract error, and the worker keeps serving', async () => {
    const runner = await TowerRunner.start(model, 1);
    try {
      const out = new Float32Array(new SharedArrayBuffer(4 * model.dim * 4));
      // An input tensor of the wrong rank: onnxruntime refuses the run.
      const bad = model.manifest.itemTower.inputs.map((inp) => ({ name: inp.name, dtype: inp.dtype, dims: [2, 2, 2, 2], data: inp.dtype === 'int64' ? new Int32Array(16) : new Float32Array(16) }));
      await expect(runner.run('item', bad, 2, out, 0)).rejects.toThrow(/tower worker|MODEL_CONTRACT|rank|dimension|shape/i);
      const inputs = await readIndexerInputs(fx.world);
      const here = await embedCatalog(inputs, model, 256);
      const there = await embedCatalog(inputs, model, 256, undefined, runner);
      expect(bytesOf(there.vectors).equals(bytesOf(here.vectors))).toBe(true);
    } finally {
      await runner.close();
    }
  });

  it('a model file changed since it was loaded is refused by the worker', async () => {
    const dir = path.join(root, 'model-copy');
    await fs.cp(fx.model, dir, { recursive: true });
    const copy = await loadModel(dir);
    try {
      const file = path.join(dir, copy.manifest.itemTower.file);
      await fs.appendFile(file, Buffer.from([0]));
      await expect(TowerRunner.start(copy, 1)).rejects.toMatchObject({ code: 'MODEL_CONTRACT', message: expect.stringMatching(/changed since the model was loaded/) });
    } finally {
      await copy.close();
    }
  });
});
