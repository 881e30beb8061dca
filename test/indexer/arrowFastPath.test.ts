/**
 * The Arrow fast path of the interactions loader (ids looked up by their bytes, timestamps read
 * from the buffer) must agree with the general path row for row, and fail the same way.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Table, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteIdTable } from '../../shared/data/byteIdTable.js';
import { int64Vector, utf8Vector } from '../../shared/data/arrowColumns.js';
import { IdIndex } from '../../shared/data/idIndex.js';
import { loadInteractionColumns } from '../../shared/data/interactionColumns.js';

let root: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-fast-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function index(ids: string[]): IdIndex {
  const ix = new IdIndex();
  for (const id of ids) ix.intern(id);
  return ix;
}

async function writeArrow(name: string, users: (string | null)[], items: (string | null)[], times: number[]): Promise<string> {
  const file = path.join(root, name);
  const table = new Table({ user_id: utf8Vector(users), item_id: utf8Vector(items), timestamp: int64Vector(times) });
  await fs.writeFile(file, tableToIPC(table, 'file'));
  return file;
}

async function writeCsv(name: string, users: string[], items: string[], times: number[]): Promise<string> {
  const file = path.join(root, name);
  await fs.writeFile(file, ['user_id,item_id,timestamp', ...users.map((u, i) => `${u},${items[i]},${times[i]}`)].join('\n') + '\n');
  return file;
}

describe('Arrow interactions fast path', () => {
  it('agrees with the general path: repeated users, new users, ids with spaces, large and negative timestamps', async () => {
    const items = ['i0', 'i1', 'é2', 'i3'];
    const users = ['u1', 'u1', ' u2', 'u3', 'u1', 'u3', 'ü4', 'u2'];
    const its = ['i0', 'i1', 'é2', 'i3 ', 'i0', 'i0', 'i1', 'i3'];
    const times = [5, 2 ** 40 + 7, -3, 0, 1, 2, 3, 4];
    const fast = await loadInteractionColumns(await writeArrow('a.arrow', users, its, times), index(items), index(['u3']));
    const usersSlow = index(['u3']);
    const slow = await loadInteractionColumns(await writeCsv('a.csv', users, its, times), index(items), usersSlow);
    expect(Array.from(fast.user)).toEqual(Array.from(slow.user));
    expect(Array.from(fast.item)).toEqual(Array.from(slow.item));
    expect(Array.from(fast.time)).toEqual(times);
    expect(usersSlow.ids).toEqual(['u3', 'u1', 'u2', 'ü4']);
  });

  it('names the row of an unknown item and of a missing user id', async () => {
    const items = index(['i0']);
    await expect(loadInteractionColumns(await writeArrow('b.arrow', ['u', 'u', 'u'], ['i0', 'i0', 'nope'], [1, 2, 3]), items, new IdIndex())).rejects.toThrow(
      /b\.arrow, row 3, column 'item_id': item 'nope' is not in the catalog/,
    );
    await expect(loadInteractionColumns(await writeArrow('c.arrow', ['u', null], ['i0', 'i0'], [1, 2]), items, new IdIndex())).rejects.toThrow(
      /c\.arrow, row 2, column 'user_id': missing id/,
    );
  });

  it('ByteIdTable finds what it holds, by bytes, through growth', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `id-${i}-${'x'.repeat(i % 7)}`);
    const t = new ByteIdTable(4);
    ids.forEach((id, i) => expect(t.insert(Buffer.from(id), 0, Buffer.byteLength(id))).toBe(i));
    for (let i = 0; i < ids.length; i += 97) expect(t.find(Buffer.from(`..${ids[i]}..`), 2, 2 + ids[i].length)).toBe(i);
    expect(t.find(Buffer.from('id-1-'), 0, 5)).toBe(-1);
    expect(t.insert(Buffer.from(ids[42]), 0, ids[42].length)).toBe(42);
    expect(t.size).toBe(ids.length);
  });
});
