/**
 * `--dry-run`: everything a build would find wrong with its inputs and model, without building.
 * The id columns and interactions were already checked by readIndexerInputs; this converts every
 * feature column of the catalog and the users table (the checks a build would hit mid-embedding)
 * and sends one batch of each through its tower, so a model that cannot take this data fails now.
 */
import type { UserQuery } from '../models/types.js';
import { readItems, readUsers } from '../shared/data/readers.js';
import type { Towers } from './embedTables.js';
import { historyWindow, recentHistoryIds } from './embedTables.js';
import type { IndexerInputs } from './inputs.js';

export async function dryRunInputs(inputs: IndexerInputs, model: Towers, batchSize: number): Promise<void> {
  const window = historyWindow(model.manifest.userTower);
  let first = true;
  for await (const rows of readItems(inputs.itemsFile, batchSize)) {
    if (first) await model.embedItems(rows);
    first = false;
  }
  if (inputs.usersFile) {
    first = true;
    let at = 0;
    for await (const rows of readUsers(inputs.usersFile, batchSize)) {
      if (first) await model.embedUsers(rows.map((r, i): UserQuery => ({ userId: r.userId, user: r, history: recentHistoryIds(inputs, at + i, window) })));
      first = false;
      at += rows.length;
    }
  } else if (inputs.users.size > 0) {
    const n = Math.min(batchSize, inputs.users.size);
    await model.embedUsers(Array.from({ length: n }, (_, u): UserQuery => ({ userId: inputs.users.ids[u], user: null, history: recentHistoryIds(inputs, u, window) })));
  }
}
