/**
 * Reads and cross-checks the indexer's inputs into columnar form: dense indices for item and user
 * ids, every user's history as one CSR structure, interaction counts per item.
 *
 * Only the id columns of the catalog and the users table are read here (a cheap pass, and every
 * duplicate, missing column or unknown item is reported before any expensive work); their feature
 * columns are read again batch by batch by the embedding stages, so no table is ever held as rows.
 */
import path from 'node:path';
import { InputError } from '../shared/errors.js';
import { buildHistories, type Histories } from '../shared/data/histories.js';
import { IdIndex, scanIds } from '../shared/data/idIndex.js';
import { loadInteractionColumns } from '../shared/data/interactionColumns.js';
import { resolveTable } from '../shared/data/readers.js';
import { fileSha256InWorker } from './fileHash.js';

export interface InputFile {
  file: string;
  sha256: string;
  rows: number;
}

export interface IndexerInputs {
  itemsFile: string;
  usersFile: string | null;
  interactionsFile: string;
  /** Item ids in catalog order: item index i is row i + 1 of the catalog. */
  items: IdIndex;
  /** Users of the users table in file order, then users known only from interactions. */
  users: IdIndex;
  /** Users [0, usersInTable) are the rows of the users table. */
  usersInTable: number;
  histories: Histories;
  /** Interaction count per item. */
  popularity: Float32Array;
  interactions: number;
  files: Record<string, InputFile>;
}

export interface ReadInputsOptions {
  onInteractions?: (rows: number) => void;
}

export async function readIndexerInputs(dataDir: string, opts: ReadInputsOptions = {}): Promise<IndexerInputs> {
  const itemsFile = required(dataDir, 'items');
  const interactionsFile = required(dataDir, 'interactions');
  const usersFile = resolveTable(dataDir, 'users');

  // Hashing streams each file once more, in worker threads, while this thread parses them; a
  // parse error stops the hashing too, so a bad input fails at once.
  const abort = new AbortController();
  const hashes = Promise.all([itemsFile, interactionsFile, usersFile].map((f) => (f ? fileSha256InWorker(f, abort.signal) : Promise.resolve(''))));
  hashes.catch(() => undefined);
  try {
    const { index: items } = await scanIds(itemsFile, 'item_id');
    if (items.size === 0) throw new InputError({ file: itemsFile }, 'the catalog is empty: no items to index');
    const users = usersFile ? (await scanIds(usersFile, 'user_id')).index : new IdIndex();
    const usersInTable = users.size;

    const cols = await loadInteractionColumns(interactionsFile, items, users, { onBatch: opts.onInteractions });
    const popularity = new Float32Array(items.size);
    for (let r = 0; r < cols.rows; r++) popularity[cols.item[r]]++;
    const histories = buildHistories(cols, users.size);

    const [itemsHash, interactionsHash, usersHash] = await hashes;
    const files: Record<string, InputFile> = {};
    files[path.basename(itemsFile)] = { file: path.resolve(itemsFile), sha256: itemsHash, rows: items.size };
    files[path.basename(interactionsFile)] = { file: path.resolve(interactionsFile), sha256: interactionsHash, rows: cols.rows };
    if (usersFile) files[path.basename(usersFile)] = { file: path.resolve(usersFile), sha256: usersHash, rows: usersInTable };
    return { itemsFile, usersFile, interactionsFile, items, users, usersInTable, histories, popularity, interactions: cols.rows, files };
  } finally {
    abort.abort();
  }
}

function required(dir: string, table: 'items' | 'interactions'): string {
  const file = resolveTable(dir, table);
  if (!file) throw new InputError({ file: dir }, `no ${table} file (expected ${table}.arrow, ${table}.csv or ${table}.jsonl)`);
  return file;
}
