import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import {
  Dictionary,
  Field,
  Float16,
  Float32,
  Int32,
  List,
  makeData,
  makeVector,
  Table,
  tableToIPC,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  countRows,
  fileSha256,
  loadInteractions,
  loadItems,
  loadUsers,
  readInteractions,
  readItems,
  resolveTable,
} from '../../shared/data/readers.js';
import type { InteractionRow, ItemRow, UserRow } from '../../shared/data/types.js';
import { writeInteractions, writeItems, writeUsers } from '../../shared/data/writers.js';
import { collect, tempDir } from './helpers.js';

const dir = tempDir();

const items: ItemRow[] = [
  { itemId: 'a', category: 'books', tags: ['x', 'y z'], numeric: { num_price: 9.5, num_pages: 300 } },
  // No category, no tags, a missing numeric value: must come back as missing, not as 0 or ''.
  { itemId: 'b"2', category: null, tags: [], numeric: { num_price: 0.1 } },
  { itemId: 'é,c', category: 'café, "bar"', tags: ['ü'], numeric: { num_price: -1e-7, num_pages: 1 } },
];
const users: UserRow[] = [
  { userId: 'u1', categorical: { cat_country: 'DE', cat_age: '25-34' }, numeric: { num_activity: 1.25 } },
  { userId: 'u2', categorical: { cat_country: 'FR' }, numeric: {} },
];
const interactions: InteractionRow[] = [
  { userId: 'u1', itemId: 'a', timestamp: 1_700_000_000, rating: 4.5 },
  { userId: 'u1', itemId: 'b"2', timestamp: 1_700_000_060, rating: 1 },
  { userId: 'u2', itemId: 'é,c', timestamp: 0, rating: -2 },
];

function writeArrowTable(file: string, table: Table, format: 'file' | 'stream'): void {
  fs.writeFileSync(file, tableToIPC(table, format));
}

describe('round trips', () => {
  for (const ext of ['arrow', 'csv', 'jsonl']) {
    it(`items, users and interactions through .${ext}`, async () => {
      await writeItems(path.join(dir, `items.${ext}`), items);
      await writeUsers(path.join(dir, `users.${ext}`), users);
      await writeInteractions(path.join(dir, `inter.${ext}`), interactions);
      expect(await loadItems(path.join(dir, `items.${ext}`))).toEqual(items);
      expect(await loadUsers(path.join(dir, `users.${ext}`))).toEqual(users);
      expect(await loadInteractions(path.join(dir, `inter.${ext}`))).toEqual(interactions);
      expect(await countRows(path.join(dir, `inter.${ext}`))).toBe(3);
    });
  }

  it('reads in batches of at most batchSize, in order, across Arrow record batches', async () => {
    const rows: InteractionRow[] = Array.from({ length: 2500 }, (_, i) => ({ userId: `u${i % 7}`, itemId: `i${i}`, timestamp: 1000 + i, rating: (i % 5) + 1 }));
    for (const ext of ['arrow', 'csv', 'jsonl']) {
      const file = path.join(dir, `batches.${ext}`);
      // Written as record batches of 1000: reading with 300 must slice them.
      await writeInteractions(file, rows, 1000);
      const { rows: back, batches } = await collect(readInteractions(file, 300));
      expect(back).toEqual(rows);
      expect(Math.max(...batches)).toBeLessThanOrEqual(300);
      expect(batches.reduce((a, b) => a + b, 0)).toBe(2500);
    }
  });

  it('writes an empty table that reads back as empty (schema kept)', async () => {
    const file = path.join(dir, 'empty.arrow');
    await writeInteractions(file, []);
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    expect(await loadInteractions(file)).toEqual([]);
    expect(await countRows(file)).toBe(0);
  });
});

describe('Arrow value types', () => {
  it('accepts Int64 (BigInt) and Int32 ids, Float32/Int64 numbers, and the stream format', async () => {
    const table = new Table({
      user_id: makeVector(new BigInt64Array([1n, 2n])),
      item_id: makeVector(new Int32Array([10, 20])),
      timestamp: makeVector(new BigInt64Array([1_600_000_000n, 1_600_000_001n])),
      rating: makeVector(new Float32Array([2.5, 4])),
    });
    for (const format of ['file', 'stream'] as const) {
      const file = path.join(dir, `typed-${format}.arrow`);
      writeArrowTable(file, table, format);
      expect(await loadInteractions(file)).toEqual([
        { userId: '1', itemId: '10', timestamp: 1_600_000_000, rating: 2.5 },
        { userId: '2', itemId: '20', timestamp: 1_600_000_001, rating: 4 },
      ]);
    }
  });

  it('accepts Timestamp columns (as epoch seconds), Utf8 numbers, dictionary strings and list tags', async () => {
    const ts = makeVector(makeData({ type: new TimestampMillisecond(), length: 1, data: new BigInt64Array([1_600_000_000_500n]) }));
    const inter = new Table({
      user_id: vectorFromArray(['u'], new Dictionary(new Utf8(), new Int32())),
      item_id: vectorFromArray(['i'], new Utf8()),
      timestamp: ts,
      rating: vectorFromArray(['3.5'], new Utf8()),
    });
    const file = path.join(dir, 'temporal.arrow');
    writeArrowTable(file, inter, 'file');
    expect(await loadInteractions(file)).toEqual([{ userId: 'u', itemId: 'i', timestamp: 1_600_000_000, rating: 3.5 }]);

    const tagList = vectorFromArray([['a', 'b'], []], new List(new Field('item', new Utf8(), true)));
    const cat = new Table({
      item_id: vectorFromArray(['x', 'y'], new Utf8()),
      tags: tagList,
      num_n: vectorFromArray([1, null], new Float32()),
      num_big: makeVector(new BigInt64Array([5n, 6n])),
      num_half: vectorFromArray([1.5, -2], new Float16()),
    });
    const itemsFile = path.join(dir, 'listtags.arrow');
    writeArrowTable(itemsFile, cat, 'file');
    expect(await loadItems(itemsFile)).toEqual([
      { itemId: 'x', category: null, tags: ['a', 'b'], numeric: { num_n: 1, num_big: 5, num_half: 1.5 } },
      { itemId: 'y', category: null, tags: [], numeric: { num_big: 6, num_half: -2 } },
    ]);
  });
});

describe('text formats', () => {
  it('CSV: BOM, CRLF, quoted fields, a missing optional rating, extra columns ignored', async () => {
    const file = path.join(dir, 'crlf.csv');
    fs.writeFileSync(file, '\ufeffuser_id,item_id,timestamp,rating,extra\r\n u1 ,"a,b",12,,x\r\nu2,c,13.9,2,y\r\n');
    expect(await loadInteractions(file)).toEqual([
      { userId: 'u1', itemId: 'a,b', timestamp: 12, rating: 1 },
      { userId: 'u2', itemId: 'c', timestamp: 13, rating: 2 },
    ]);
  });

  it('JSONL: blank lines skipped, numeric ids, tags as list, ISO timestamps', async () => {
    const file = path.join(dir, 'mixed.jsonl');
    fs.writeFileSync(
      file,
      '{"item_id": 7, "tags": ["a", "b"], "num_w": 2}\n\n{"item_id": "8", "category": "c", "tags": "x|y|"}\n',
    );
    expect(await loadItems(file)).toEqual([
      { itemId: '7', category: null, tags: ['a', 'b'], numeric: { num_w: 2 } },
      { itemId: '8', category: 'c', tags: ['x', 'y'], numeric: {} },
    ]);
    const inter = path.join(dir, 'iso.jsonl');
    fs.writeFileSync(inter, '{"user_id":"u","item_id":"i","timestamp":"2020-01-01T00:00:10Z"}\n');
    expect(await loadInteractions(inter)).toEqual([{ userId: 'u', itemId: 'i', timestamp: 1_577_836_810, rating: 1 }]);
  });

  it('an empty JSONL file is an empty table; a header-only CSV too', async () => {
    const j = path.join(dir, 'none.jsonl');
    fs.writeFileSync(j, '');
    expect(await loadInteractions(j)).toEqual([]);
    const c = path.join(dir, 'none.csv');
    fs.writeFileSync(c, 'user_id,item_id,timestamp\n');
    expect(await loadInteractions(c)).toEqual([]);
  });
});

describe('resolveTable, countRows, fileSha256', () => {
  it('finds a table by extension, preferring Arrow', () => {
    const d = path.join(dir, 'resolve');
    fs.mkdirSync(d);
    expect(resolveTable(d, 'items')).toBeNull();
    fs.writeFileSync(path.join(d, 'items.jsonl'), '');
    expect(resolveTable(d, 'items')).toBe(path.join(d, 'items.jsonl'));
    fs.writeFileSync(path.join(d, 'items.csv'), '');
    expect(resolveTable(d, 'items')).toBe(path.join(d, 'items.csv'));
    fs.writeFileSync(path.join(d, 'items.ipc'), '');
    expect(resolveTable(d, 'items')).toBe(path.join(d, 'items.ipc'));
    fs.writeFileSync(path.join(d, 'items.arrow'), '');
    expect(resolveTable(d, 'items')).toBe(path.join(d, 'items.arrow'));
    expect(resolveTable(d, 'holdout')).toBeNull();
  });

  it('hashes file bytes', async () => {
    const file = path.join(dir, 'hash.txt');
    fs.writeFileSync(file, 'hello');
    expect(await fileSha256(file)).toBe(createHash('sha256').update('hello').digest('hex'));
  });

  it('counts rows without a header and skips blank JSONL lines', async () => {
    const file = path.join(dir, 'count.jsonl');
    fs.writeFileSync(file, '{"a":1}\n\n{"a":2}\n{"a":3}');
    expect(await countRows(file)).toBe(3);
  });

  it('readItems yields nothing for an empty catalog and keeps file order', async () => {
    const file = path.join(dir, 'order.csv');
    fs.writeFileSync(file, 'item_id\nz\ny\nx\n');
    const { rows } = await collect(readItems(file, 2));
    expect(rows.map((r) => r.itemId)).toEqual(['z', 'y', 'x']);
  });
});
