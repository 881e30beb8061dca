/**
 * Reads and cross-checks the indexer's inputs: the catalog, the users and the interactions.
 * Everything wrong is reported with file, row and column before any work is done.
 */
import path from 'node:path';
import { InputError } from '../shared/errors.js';
import { fileSha256, loadInteractions, loadItems, loadUsers, resolveTable } from '../shared/data/readers.js';
import type { ItemRow, UserRow } from '../shared/data/types.js';

export interface IndexerInputs {
  items: ItemRow[];
  itemIndex: Map<string, number>;
  /** Every known user: those in the users table and those with interactions, in first-seen order. */
  userIds: string[];
  usersById: Map<string, UserRow>;
  /** Per user, the item indices they interacted with, oldest first. */
  histories: Map<string, Int32Array>;
  /** Interaction count per item. */
  popularity: Float32Array;
  interactions: number;
  files: Record<string, { sha256: string; rows: number }>;
}

export async function readIndexerInputs(dataDir: string): Promise<IndexerInputs> {
  const itemsFile = required(dataDir, 'items');
  const interactionsFile = required(dataDir, 'interactions');
  const usersFile = resolveTable(dataDir, 'users');

  const items = await loadItems(itemsFile);
  if (items.length === 0) throw new InputError({ file: itemsFile }, 'the catalog is empty: no items to index');
  const itemIndex = new Map<string, number>();
  items.forEach((it, i) => itemIndex.set(it.itemId, i));

  const users = usersFile ? await loadUsers(usersFile) : [];
  const usersById = new Map(users.map((u) => [u.userId, u]));
  const userIds = users.map((u) => u.userId);

  const interactions = await loadInteractions(interactionsFile);
  const popularity = new Float32Array(items.length);
  const perUser = new Map<string, { ts: number; item: number }[]>();
  interactions.forEach((r, i) => {
    const item = itemIndex.get(r.itemId);
    if (item === undefined) {
      throw new InputError({ file: interactionsFile, row: i + 1, column: 'item_id' }, `item '${r.itemId}' is not in the catalog ${path.basename(itemsFile)}`);
    }
    popularity[item]++;
    let list = perUser.get(r.userId);
    if (!list) {
      list = [];
      perUser.set(r.userId, list);
      if (!usersById.has(r.userId)) userIds.push(r.userId);
    }
    list.push({ ts: r.timestamp, item });
  });
  const histories = new Map<string, Int32Array>();
  for (const [u, list] of perUser) {
    list.sort((a, b) => a.ts - b.ts);
    histories.set(u, Int32Array.from(list, (e) => e.item));
  }

  const files: IndexerInputs['files'] = {};
  files[path.basename(itemsFile)] = { sha256: await fileSha256(itemsFile), rows: items.length };
  files[path.basename(interactionsFile)] = { sha256: await fileSha256(interactionsFile), rows: interactions.length };
  if (usersFile) files[path.basename(usersFile)] = { sha256: await fileSha256(usersFile), rows: users.length };

  return { items, itemIndex, userIds, usersById, histories, popularity, interactions: interactions.length, files };
}

function required(dir: string, table: 'items' | 'interactions'): string {
  const file = resolveTable(dir, table);
  if (!file) throw new InputError({ file: dir }, `no ${table} file (expected ${table}.arrow, ${table}.csv or ${table}.jsonl)`);
  return file;
}
