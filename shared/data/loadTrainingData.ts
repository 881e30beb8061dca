/** Loads the three tables of a data folder for training (users are optional). */
import { InputError } from '../errors.js';
import { loadInteractions, loadItems, loadUsers, resolveTable } from './readers.js';
import type { InteractionRow, ItemRow, UserRow } from './types.js';

export interface TrainingData {
  items: ItemRow[];
  users: UserRow[];
  interactions: InteractionRow[];
}

export async function loadTrainingData(dir: string): Promise<TrainingData> {
  const itemsFile = resolveTable(dir, 'items');
  const interactionsFile = resolveTable(dir, 'interactions');
  if (!itemsFile) throw new InputError({ file: dir }, 'no items file (expected items.arrow, items.csv or items.jsonl)');
  if (!interactionsFile) throw new InputError({ file: dir }, 'no interactions file (expected interactions.arrow, .csv or .jsonl)');
  const usersFile = resolveTable(dir, 'users');
  return {
    items: await loadItems(itemsFile),
    users: usersFile ? await loadUsers(usersFile) : [],
    interactions: await loadInteractions(interactionsFile),
  };
}
