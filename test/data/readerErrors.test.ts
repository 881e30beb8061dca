import fs from 'node:fs';
import path from 'node:path';
import { makeVector, Table, tableToIPC, vectorFromArray, Utf8, Float64 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { countRows, loadInteractions, loadItems, loadUsers } from '../../shared/data/readers.js';
import { expectInputError, tempDir } from './helpers.js';

const dir = tempDir();

function write(name: string, content: string | Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe('missing required columns', () => {
  it('names the column and lists the columns found (CSV, JSONL, Arrow)', async () => {
    const csv = write('nouser.csv', 'item_id,timestamp\na,1\n');
    const err = await expectInputError(loadInteractions(csv), { file: csv, column: 'user_id', says: /missing required column/ });
    expect(err.message).toContain('columns found: item_id, timestamp');

    const jsonl = write('noitem.jsonl', '{"category":"x"}\n');
    await expectInputError(loadItems(jsonl), { file: jsonl, column: 'item_id', says: 'columns found: category' });

    const arrow = write('nots.arrow', tableToIPC(new Table({ user_id: vectorFromArray(['u'], new Utf8()), item_id: vectorFromArray(['i'], new Utf8()) }), 'file'));
    await expectInputError(loadInteractions(arrow), { file: arrow, column: 'timestamp', says: 'columns found: user_id, item_id' });

    // A header-only file still has its columns checked.
    const headerOnly = write('headeronly.csv', 'user,item_id\n');
    await expectInputError(loadUsers(headerOnly), { file: headerOnly, column: 'user_id' });
  });
});

describe('bad values name file, 1-based data row and column', () => {
  it('empty or blank ids', async () => {
    const csv = write('blank.csv', 'item_id,category\na,x\n   ,y\n');
    await expectInputError(loadItems(csv), { file: csv, row: 2, column: 'item_id', says: 'empty id' });
    const jsonl = write('nullid.jsonl', '{"user_id":"a","item_id":"i","timestamp":1}\n{"user_id":null,"item_id":"i","timestamp":1}\n');
    await expectInputError(loadInteractions(jsonl), { file: jsonl, row: 2, column: 'user_id', says: 'missing id' });
    const absent = write('absentid.jsonl', '{"user_id":"a","item_id":"i","timestamp":1}\n{"item_id":"i","timestamp":1}\n');
    await expectInputError(loadInteractions(absent), { file: absent, row: 2, column: 'user_id' });
    const obj = write('objid.jsonl', '{"user_id":{"x":1},"item_id":"i","timestamp":1}\n');
    await expectInputError(loadInteractions(obj), { file: obj, row: 1, column: 'user_id', says: 'string or an integer' });
  });

  it('non-numeric num_* values, timestamps and ratings', async () => {
    const items = write('badnum.csv', 'item_id,num_price\na,1.5\nb,cheap\n');
    await expectInputError(loadItems(items), { file: items, row: 2, column: 'num_price', says: "non-numeric value 'cheap'" });
    const users = write('badnum.jsonl', '{"user_id":"u","num_age":true}\n');
    await expectInputError(loadUsers(users), { file: users, row: 1, column: 'num_age', says: 'non-numeric' });
    const ts = write('badts.csv', 'user_id,item_id,timestamp\nu,i,1\nu,i,2\nu,i,yesterday\n');
    await expectInputError(loadInteractions(ts), { file: ts, row: 3, column: 'timestamp', says: 'non-numeric' });
    const missingTs = write('nots.csv', 'user_id,item_id,timestamp\nu,i,\n');
    await expectInputError(loadInteractions(missingTs), { file: missingTs, row: 1, column: 'timestamp', says: 'missing timestamp' });
    const rating = write('badrating.csv', 'user_id,item_id,timestamp,rating\nu,i,1,5\nu,i,2,0x1f\n');
    await expectInputError(loadInteractions(rating), { file: rating, row: 2, column: 'rating', says: 'non-numeric' });
  });

  it('NaN and Infinity, as text and as Arrow floats', async () => {
    const csv = write('nan.csv', 'item_id,num_x\na,NaN\n');
    await expectInputError(loadItems(csv), { file: csv, row: 1, column: 'num_x', says: /NaN\/Infinity/ });
    const inf = write('inf.csv', 'user_id,item_id,timestamp,rating\nu,i,1,-Infinity\n');
    await expectInputError(loadInteractions(inf), { file: inf, row: 1, column: 'rating', says: /finite/ });
    const table = new Table({ item_id: vectorFromArray(['a', 'b', 'c'], new Utf8()), num_x: makeVector(new Float64Array([1, 2, Number.POSITIVE_INFINITY])) });
    const arrow = write('inf.arrow', tableToIPC(table, 'file'));
    await expectInputError(loadItems(arrow), { file: arrow, row: 3, column: 'num_x', says: /finite/ });
    const nanTs = new Table({
      user_id: vectorFromArray(['u'], new Utf8()),
      item_id: vectorFromArray(['i'], new Utf8()),
      timestamp: vectorFromArray([Number.NaN], new Float64()),
    });
    const arrowTs = write('nants.arrow', tableToIPC(nanTs, 'stream'));
    await expectInputError(loadInteractions(arrowTs), { file: arrowTs, row: 1, column: 'timestamp', says: /finite/ });
  });

  it('rows are counted across batches', async () => {
    const lines = ['item_id,num_x'];
    for (let i = 0; i < 70000; i++) lines.push(`i${i},${i === 66000 ? 'x' : i}`);
    const file = write('late.csv', lines.join('\n'));
    await expectInputError(loadItems(file), { file, row: 66001, column: 'num_x' });
  });
});

describe('duplicates', () => {
  it('a duplicate item_id or user_id names both rows', async () => {
    const items = write('dupitems.csv', 'item_id\na\nb\nc\nb\n');
    await expectInputError(loadItems(items), { file: items, row: 4, column: 'item_id', says: "duplicate item_id 'b' (rows 2 and 4)" });
    const users = write('dupusers.jsonl', '{"user_id":1}\n{"user_id":"1"}\n');
    await expectInputError(loadUsers(users), { file: users, row: 2, column: 'user_id', says: 'rows 1 and 2' });
  });
});

describe('unreadable and malformed files', () => {
  it('a file that is not Arrow', async () => {
    const file = write('fake.arrow', 'user_id,item_id\nthis is text');
    await expectInputError(loadInteractions(file), { file, says: /not an Arrow IPC file/ });
    const empty = write('empty.arrow', '');
    await expectInputError(loadInteractions(empty), { file: empty, says: /empty/ });
  });

  it('a truncated Arrow file', async () => {
    const table = new Table({ item_id: vectorFromArray(Array.from({ length: 1000 }, (_, i) => `i${i}`), new Utf8()) });
    const bytes = tableToIPC(table, 'file');
    const file = write('truncated.arrow', bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectInputError(loadItems(file), { file, says: /Arrow/ });
    const stream = write('truncated-stream.arrow', tableToIPC(table, 'stream').subarray(0, 200));
    await expectInputError(loadItems(stream), { file: stream, says: /Arrow/ });
  });

  it('a broken JSON line names the row and the line', async () => {
    const file = write('broken.jsonl', '{"item_id":"a"}\n\n{"item_id": "b",\n');
    const err = await expectInputError(loadItems(file), { file, row: 2, says: 'line 3 is not valid JSON' });
    expect(err.message).toContain('row 2');
    const notObj = write('array.jsonl', '[1,2]\n');
    await expectInputError(loadItems(notObj), { file: notObj, row: 1, says: 'line 1 is not a JSON object' });
  });

  it('malformed CSV (unclosed quote, ragged row) names the row', async () => {
    const ragged = write('ragged.csv', 'item_id,category\na,x\nb,y,z\n');
    await expectInputError(loadItems(ragged), { file: ragged, row: 2, says: /malformed CSV/ });
    const quote = write('quote.csv', 'item_id,category\na,"x\n');
    await expectInputError(loadItems(quote), { file: quote, says: /malformed CSV/ });
    const dupHeader = write('duphead.csv', 'item_id,item_id\na,b\n');
    await expectInputError(loadItems(dupHeader), { file: dupHeader, column: 'item_id', says: /duplicate column/ });
    const empty = write('empty.csv', '');
    await expectInputError(loadItems(empty), { file: empty, says: /empty/ });
  });

  it('unknown formats and missing files', async () => {
    const parquet = write('items.parquet', 'PAR1');
    await expectInputError(loadItems(parquet), { file: parquet, says: /unknown file format '\.parquet'/ });
    const missing = path.join(dir, 'nope.csv');
    await expectInputError(loadItems(missing), { file: missing, says: /cannot open/ });
    const missingArrow = path.join(dir, 'nope.arrow');
    await expectInputError(countRows(missingArrow), { file: missingArrow, says: /cannot open/ });
    const missingJsonl = path.join(dir, 'nope.jsonl');
    await expectInputError(loadItems(missingJsonl), { file: missingJsonl, says: /cannot (open|read)/ });
  });
});

describe('odd inputs', () => {
  it('a folder named like a data file is unreadable, not a crash', async () => {
    for (const ext of ['arrow', 'csv', 'jsonl']) {
      const folder = path.join(dir, `folder.${ext}`);
      fs.mkdirSync(folder);
      await expectInputError(loadItems(folder), { file: folder, says: /cannot (open|read)/ });
    }
  });
});
