/**
 * The indexer's inputs: columnar loading (ids, interactions as typed arrays, CSR histories) and
 * each kind of bad input refused with file, row and column, and exit code 2 from the CLI.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/buildIndex.js';
import { readIndexerInputs } from '../../indexer/inputs.js';
import { buildHistories, historyOf } from '../../shared/data/histories.js';
import { IdIndex } from '../../shared/data/idIndex.js';
import { loadInteractions, loadItems, loadUsers } from '../../shared/data/readers.js';
import type { InteractionRow, ItemRow } from '../../shared/data/types.js';
import { writeInteractions, writeItems, writeUsers } from '../../shared/data/writers.js';
import { silentLogger } from '../../shared/log.js';
import { readCurrent } from '../../shared/store/versionStore.js';
import { cli, lastLine, sharedFixture, type SharedFixture } from './fixture.js';

let fx: SharedFixture;
let root: string;
let items: ItemRow[];
let interactions: InteractionRow[];

beforeAll(async () => {
  fx = await sharedFixture();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-inputs-'));
  items = await loadItems(path.join(fx.world, 'items.arrow'));
  interactions = await loadInteractions(path.join(fx.world, 'interactions.arrow'));
});

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

let n = 0;
/** A data folder: the fixture's tables, with any of them replaced. */
async function dataDir(over: { items?: ItemRow[]; interactions?: InteractionRow[]; files?: Record<string, string | Buffer>; ext?: string } = {}): Promise<string> {
  const dir = path.join(root, `data-${n++}`);
  await fs.mkdir(dir);
  const ext = over.ext ?? 'arrow';
  if (!over.files || !Object.keys(over.files).some((f) => f.startsWith('items.'))) await writeItems(path.join(dir, `items.${ext}`), over.items ?? items);
  await writeUsers(path.join(dir, `users.${ext}`), await loadUsers(path.join(fx.world, 'users.arrow')));
  await writeInteractions(path.join(dir, `interactions.${ext}`), over.interactions ?? interactions);
  for (const [name, content] of Object.entries(over.files ?? {})) await fs.writeFile(path.join(dir, name), content);
  return dir;
}

describe('columnar inputs', () => {
  it('indexes ids densely, keeps histories in time order, and appends users known only from interactions', async () => {
    const dir = path.join(root, 'small');
    await fs.mkdir(dir);
    await writeItems(path.join(dir, 'items.csv'), items.slice(0, 5));
    await writeUsers(path.join(dir, 'users.jsonl'), [{ userId: 'b', categorical: {}, numeric: {} }, { userId: 'a', categorical: {}, numeric: {} }]);
    const id = (i: number) => items[i].itemId;
    await writeInteractions(path.join(dir, 'interactions.jsonl'), [
      { userId: 'a', itemId: id(3), timestamp: 30, rating: 1 },
      { userId: 'z', itemId: id(0), timestamp: 5, rating: 1 },
      { userId: 'a', itemId: id(1), timestamp: 10, rating: 1 },
      { userId: 'a', itemId: id(4), timestamp: 20, rating: 1 },
      { userId: 'a', itemId: id(1), timestamp: 40, rating: 1 },
    ]);
    const inp = await readIndexerInputs(dir);
    expect(inp.items.ids).toEqual(items.slice(0, 5).map((i) => i.itemId));
    expect(inp.users.ids).toEqual(['b', 'a', 'z']);
    expect(inp.usersInTable).toBe(2);
    expect(Array.from(historyOf(inp.histories, 0))).toEqual([]);
    expect(Array.from(historyOf(inp.histories, 1))).toEqual([1, 4, 3, 1]);
    expect(Array.from(historyOf(inp.histories, 2))).toEqual([0]);
    expect(Array.from(inp.popularity)).toEqual([1, 2, 0, 1, 1]);
    expect(inp.interactions).toBe(5);
    for (const f of Object.values(inp.files)) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(inp.files).sort()).toEqual(['interactions.jsonl', 'items.csv', 'users.jsonl']);
  });

  it('sorts long unsorted histories stably by time', () => {
    const rows = 300;
    const cols = { rows, user: new Int32Array(rows), item: Int32Array.from({ length: rows }, (_, i) => i), time: Float64Array.from({ length: rows }, (_, i) => (rows - i) % 7) };
    const h = buildHistories(cols, 1);
    const got = Array.from(historyOf(h, 0));
    const want = Array.from({ length: rows }, (_, i) => i).sort((a, b) => cols.time[a] - cols.time[b] || a - b);
    expect(got).toEqual(want);
  });

  it('IdIndex interns each id once', () => {
    const ix = new IdIndex();
    expect([ix.intern('x'), ix.intern('y'), ix.intern('x')]).toEqual([0, 1, 0]);
    expect(ix.get('y')).toBe(1);
    expect(ix.get('nope')).toBeUndefined();
  });

  it('CSV and JSONL inputs build the same lists as Arrow', async () => {
    const byFormat: string[][] = [];
    for (const ext of ['arrow', 'csv', 'jsonl']) {
      const store = path.join(root, `store-${ext}`);
      const r = await buildIndex({ data: await dataDir({ ext }), model: fx.model, store, logger: silentLogger, recallSample: 50 });
      expect(r.manifest?.counts).toMatchObject({ items: 1500, users: 600, interactions: interactions.length });
      const { loadVersion } = await import('../../shared/store/loadVersion.js');
      const v = await loadVersion(store);
      byFormat.push(Array.from(v.candidates.get(interactions[0].userId)?.items ?? []).map((i) => v.itemIds[i]));
      await v.close();
    }
    expect(byFormat[1]).toEqual(byFormat[0]);
    expect(byFormat[2]).toEqual(byFormat[0]);
  });
});

describe('bad inputs', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['a missing column', () => dataDir({ files: { 'items.jsonl': items.map((i) => JSON.stringify({ id: i.itemId })).join('\n') } }), /items\.jsonl, column 'item_id': missing required column 'item_id' \(columns found: id\)/],
    ['duplicate item ids', () => dataDir({ items: [...items.slice(0, 10), items[3]] }), /items\.arrow, row 11, column 'item_id': duplicate item_id '\S+' \(rows 4 and 11\)/],
    ['an empty catalog', () => dataDir({ items: [] }), /items\.arrow: the catalog is empty/],
    ['an unreadable file', () => dataDir({ files: { 'items.arrow': Buffer.from('this is not arrow at all') } }), /items\.arrow: not an Arrow IPC file/],
    ['a truncated file', async () => {
      const good = await fs.readFile(path.join(fx.world, 'items.arrow'));
      return dataDir({ files: { 'items.arrow': good.subarray(0, Math.floor(good.length / 2)) } });
    }, /items\.arrow: .*(Arrow|malformed|readable)/],
    ['an interaction with an unknown item', () => dataDir({ interactions: [...interactions.slice(0, 5), { ...interactions[0], itemId: 'no-such-item' }] }), /interactions\.arrow, row 6, column 'item_id': item 'no-such-item' is not in the catalog/],
    ['a bad timestamp', () => dataDir({ ext: 'csv', files: { 'interactions.csv': `user_id,item_id,timestamp\nu1,${items[0].itemId},yesterday\n` } }), /interactions\.csv, row 1, column 'timestamp': non-numeric value 'yesterday'/],
    ['no interactions file', async () => {
      const dir = await dataDir();
      await fs.rm(path.join(dir, 'interactions.arrow'));
      return dir;
    }, /no interactions file/],
  ];

  it.each(cases)('%s is refused with a clear error (BAD_INPUT)', async (_name, make, message) => {
    const dir = await make();
    await expect(buildIndex({ data: dir, model: fx.model, store: path.join(root, 'never'), logger: silentLogger })).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(message) });
    // Nothing was created: inputs are checked before the store is touched.
    await expect(fs.access(path.join(root, 'never'))).rejects.toThrow();
  });

  it('the CLI exits 2 with one clear line and says CURRENT is unchanged; --dry-run finds it too', async () => {
    const store = path.join(root, 'store-cli');
    await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger });
    const current = await readCurrent(store);
    const dir = await dataDir({ items: [...items.slice(0, 10), items[3]] });
    const r = await cli(['index', 'build', '--data', dir, '--model', fx.model, '--store', store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^twotower: BAD_INPUT: .*duplicate item_id/m);
    expect(lastLine(r.stdout)).toBe(`nothing published; CURRENT is ${current}`);
    const dry = await cli(['index', 'build', '--data', dir, '--model', fx.model, '--store', store, '--dry-run']);
    expect(dry.code).toBe(2);
  });

  it('--dry-run validates a good folder, converts every feature column, and builds nothing', async () => {
    const store = path.join(root, 'store-dry');
    const r = await cli(['index', 'build', '--data', fx.world, '--model', fx.model, '--store', store, '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(lastLine(r.stdout)).toMatch(/^dry run: inputs and model m-\S+ are valid \(1500 items, 600 users, \d+ interactions\); nothing built$/);
    await expect(fs.access(store)).rejects.toThrow();
    // A bad numeric value deep in the catalog is only found by converting the feature columns.
    const bad = items.map((it, i) => (i === 1234 ? JSON.stringify({ item_id: it.itemId, num_price: 'cheap' }) : JSON.stringify({ item_id: it.itemId, num_price: 1 }))).join('\n');
    const dir = await dataDir({ files: { 'items.jsonl': bad } });
    const dry = await cli(['index', 'build', '--data', dir, '--model', fx.model, '--store', store, '--dry-run']);
    expect(dry.code).toBe(2);
    expect(dry.stderr).toMatch(/items\.jsonl, row 1235, column 'num_price': non-numeric value 'cheap'/);
  });
});
