/**
 * Turns the training tables into what the trainer works on: vocabularies and tower specs (the
 * future manifest), every item and user encoded once through models/features.ts, and the
 * interactions as per-user time-ordered sequences with a validation split.
 */
import { TwoTowerError } from '../../shared/errors.js';
import type { InteractionRow, ItemRow, UserRow } from '../../shared/data/types.js';
import { encodeItems, encodeUsers } from '../features.js';
import type { NumericInput, TowerInput, TowerSpec } from '../manifest.js';
import { Vocab } from '../vocab.js';
import type { SlotData } from './towerNet.js';

export interface TrainingTables {
  items: ItemRow[];
  users: UserRow[];
  interactions: InteractionRow[];
  /**
   * Held-out rows for early stopping and the ranker (an evaluation protocol's validation split).
   * Without them, each user's last interaction is held out instead.
   */
  validation?: InteractionRow[];
}

export const ITEM_TOWER_FILE = 'item_tower.onnx';
export const USER_TOWER_FILE = 'user_tower.onnx';
export const RANKER_FILE = 'ranker.onnx';
export const ITEMS_VOCAB = 'items';
export const USERS_VOCAB = 'users';
const MAX_TAGS = 16;

export interface PreparedData {
  vocabs: Map<string, Vocab>;
  itemSpec: TowerSpec;
  userSpec: TowerSpec;
  nItems: number;
  nUsers: number;
  /** Item tower inputs for every catalog item, item i at row i (its id index is i + 1). */
  itemInputs: SlotData[];
  /** User tower inputs for every user of the vocabulary, user u at row u; the history slot is empty. */
  userInputs: SlotData[];
  /** Index of the history slot among the user tower's inputs. */
  historySlot: number;
  maxHistory: number;
  /** CSR over users: interactions of user u are positions userStart[u] .. userStart[u+1]-1, oldest first. */
  userStart: Int32Array;
  /** Item index (0-based) of each position. */
  seqItem: Int32Array;
  /** User index of each position. */
  seqUser: Int32Array;
  /** First position of the same user with the same timestamp: history of a position ends there. */
  histEnd: Int32Array;
  /** Per user: the position held out for validation, or -1 (always -1 with explicit validation rows). */
  valPos: Int32Array;
  /** Positions used as training pairs (every position but the validation ones). */
  trainPos: Int32Array;
  /** What validation and the ranker try to find, whichever way it was held out. */
  heldOut: HeldOut;
  /** Training interactions per item. */
  itemCount: Float64Array;
  /** Category index per item (-1: none), for the ranker's category_match feature. */
  itemCategory: Int32Array;
}

/**
 * Held-out targets per user, the same shape whether they are each user's last interaction or an
 * explicit validation table.
 */
export interface HeldOut {
  /** User indices with at least one target, ascending. */
  users: Int32Array;
  /** Per listed user: the user tower's history is the positions before this one. */
  histEnd: Int32Array;
  /** Per listed user: the items at positions userStart[u] .. seenEnd-1 are seen, never ranked. */
  seenEnd: Int32Array;
  /** CSR over listed users: the targets of row r are items[start[r] .. start[r+1]-1]. */
  start: Int32Array;
  items: Int32Array;
}

export function prepareData(data: TrainingTables, opts: { maxHistory: number; dim: number }): PreparedData {
  const { maxHistory, dim } = opts;
  const { items, users, interactions } = data;
  if (items.length === 0) throw new TwoTowerError('BAD_INPUT', 'items: the catalog is empty; there is nothing to train on');
  if (interactions.length === 0) throw new TwoTowerError('BAD_INPUT', 'interactions: no interactions; there is nothing to train on');

  const seenItems = new Set<string>();
  for (const r of items) {
    if (seenItems.has(r.itemId)) throw new TwoTowerError('BAD_INPUT', `items: item_id '${r.itemId}' appears more than once`);
    seenItems.add(r.itemId);
  }
  const itemVocab = new Vocab(items.map((r) => r.itemId));
  const seenUsers = new Set<string>();
  for (const u of users) {
    if (seenUsers.has(u.userId)) throw new TwoTowerError('BAD_INPUT', `users: user_id '${u.userId}' appears more than once`);
    seenUsers.add(u.userId);
  }

  // Every interaction must name a catalog item: dropping them silently would hide a broken export.
  let unknown = 0;
  let firstUnknown = -1;
  for (let i = 0; i < interactions.length; i++) {
    const r = interactions[i];
    if (itemVocab.indexOf(r.itemId) === 0) {
      unknown++;
      if (firstUnknown < 0) firstUnknown = i;
    }
    if (!Number.isFinite(r.timestamp))
      throw new TwoTowerError('BAD_INPUT', `interactions, row ${i + 1}: timestamp ${String(r.timestamp)} is not a finite number`);
  }
  if (unknown > 0) {
    const r = interactions[firstUnknown];
    throw new TwoTowerError(
      'BAD_INPUT',
      `interactions, row ${firstUnknown + 1}: item '${r.itemId}' (user '${r.userId}') is not in the catalog; ${unknown} of ${interactions.length} interactions name unknown items`,
      { unknownItems: unknown },
    );
  }

  // Users: the users table first, then users known only from interactions.
  const userIds = users.map((u) => u.userId);
  for (const r of interactions) {
    if (!seenUsers.has(r.userId)) {
      seenUsers.add(r.userId);
      userIds.push(r.userId);
    }
  }
  const userVocab = new Vocab(userIds);
  const vocabs = new Map<string, Vocab>([
    [ITEMS_VOCAB, itemVocab],
    [USERS_VOCAB, userVocab],
  ]);

  const itemInputsSpec: TowerInput[] = [{ name: 'item_id', kind: 'id', dtype: 'int64', shape: ['batch'], column: 'item_id', vocab: ITEMS_VOCAB }];
  const categories = firstSeen(items.map((r) => r.category).filter((c): c is string => c !== null && c !== ''));
  if (categories.length > 0) {
    vocabs.set('category', new Vocab(categories));
    itemInputsSpec.push({ name: 'category', kind: 'categorical', dtype: 'int64', shape: ['batch'], column: 'category', vocab: 'category' });
  }
  const tags = firstSeen(items.flatMap((r) => r.tags));
  if (tags.length > 0) {
    vocabs.set('tags', new Vocab(tags));
    let L = 1;
    for (const r of items) L = Math.max(L, Math.min(MAX_TAGS, r.tags.length));
    itemInputsSpec.push({ name: 'tags', kind: 'bag', dtype: 'int64', shape: ['batch', L], column: 'tags', vocab: 'tags', maxLength: L });
  }
  const itemNumeric = numericInput('numeric', items.map((r) => r.numeric));
  if (itemNumeric) itemInputsSpec.push(itemNumeric);

  const userInputsSpec: TowerInput[] = [{ name: 'user_id', kind: 'id', dtype: 'int64', shape: ['batch'], column: 'user_id', vocab: USERS_VOCAB }];
  const catColumns = firstSeen(users.flatMap((u) => Object.keys(u.categorical))).sort();
  for (const col of catColumns) {
    const values = firstSeen(users.map((u) => u.categorical[col]).filter((v): v is string => typeof v === 'string' && v !== ''));
    if (values.length === 0) continue;
    vocabs.set(col, new Vocab(values));
    userInputsSpec.push({ name: col, kind: 'categorical', dtype: 'int64', shape: ['batch'], column: col, vocab: col });
  }
  const userNumeric = numericInput('numeric', users.map((u) => u.numeric));
  if (userNumeric) userInputsSpec.push(userNumeric);
  const historySlot = userInputsSpec.length;
  userInputsSpec.push({ name: 'history', kind: 'history', dtype: 'int64', shape: ['batch', maxHistory], vocab: ITEMS_VOCAB, maxLength: maxHistory });

  const itemSpec: TowerSpec = { file: ITEM_TOWER_FILE, inputs: itemInputsSpec, output: { name: 'embedding', dtype: 'float32', shape: ['batch', dim] } };
  const userSpec: TowerSpec = { file: USER_TOWER_FILE, inputs: userInputsSpec, output: { name: 'embedding', dtype: 'float32', shape: ['batch', dim] } };

  const itemInputs = encodeItems(itemSpec, vocabs, items).map((e) => e.data);
  const userRowById = new Map(users.map((u) => [u.userId, u]));
  const userInputs = encodeUsers(
    userSpec,
    vocabs,
    userIds.map((id) => ({ userId: id, user: userRowById.get(id) ?? null, history: [] })),
  ).map((e) => e.data);

  const seq = buildSequences(interactions, itemVocab, userVocab);
  const nUsers = userVocab.size;
  const valPos = new Int32Array(nUsers).fill(-1);
  const stamp = new Int32Array(items.length).fill(-1);
  for (let u = 0; u < nUsers && !data.validation; u++) {
    const a = seq.userStart[u];
    const b = seq.userStart[u + 1];
    if (b - a < 2) continue;
    const last = b - 1;
    // A repeat of an earlier item cannot be recommended (seen items are excluded): not a fair target.
    let repeat = false;
    for (let p = a; p < last; p++) stamp[seq.seqItem[p]] = u;
    if (stamp[seq.seqItem[last]] === u) repeat = true;
    if (!repeat) valPos[u] = last;
  }
  let nVal = 0;
  for (let u = 0; u < nUsers; u++) if (valPos[u] >= 0) nVal++;
  const trainPos = new Int32Array(seq.seqItem.length - nVal);
  const itemCount = new Float64Array(items.length);
  let k = 0;
  for (let p = 0; p < seq.seqItem.length; p++) {
    if (valPos[seq.seqUser[p]] === p) continue;
    trainPos[k++] = p;
    itemCount[seq.seqItem[p]]++;
  }

  const heldOut = data.validation ? explicitHeldOut(data.validation, itemVocab, userVocab, seq) : lastItemHeldOut(valPos, seq);

  const itemCategory = new Int32Array(items.length).fill(-1);
  const catVocab = vocabs.get('category');
  if (catVocab) for (let i = 0; i < items.length; i++) itemCategory[i] = catVocab.indexOf(items[i].category) - 1;

  return {
    vocabs,
    itemSpec,
    userSpec,
    nItems: items.length,
    nUsers,
    itemInputs,
    userInputs,
    historySlot,
    maxHistory,
    ...seq,
    valPos,
    trainPos,
    heldOut,
    itemCount,
    itemCategory,
  };
}

function lastItemHeldOut(valPos: Int32Array, seq: { seqItem: Int32Array; histEnd: Int32Array }): HeldOut {
  const users: number[] = [];
  for (let u = 0; u < valPos.length; u++) if (valPos[u] >= 0) users.push(u);
  const pos = users.map((u) => valPos[u]);
  return {
    users: Int32Array.from(users),
    // Interactions with the same timestamp as the target are not "before" it.
    histEnd: Int32Array.from(pos, (p) => seq.histEnd[p]),
    seenEnd: Int32Array.from(pos),
    start: Int32Array.from({ length: users.length + 1 }, (_, r) => r),
    items: Int32Array.from(pos, (p) => seq.seqItem[p]),
  };
}

/** Validation rows per user; items the user also has in training are dropped (they are seen). */
function explicitHeldOut(rows: InteractionRow[], items: Vocab, users: Vocab, seq: { userStart: Int32Array; seqItem: Int32Array }): HeldOut {
  const byUser = new Map<number, number[]>();
  rows.forEach((r, i) => {
    const item = items.indexOf(r.itemId) - 1;
    const user = users.indexOf(r.userId) - 1;
    // A validation row must be about a known item and a user with training rows to be scored.
    if (item < 0) throw new TwoTowerError('BAD_INPUT', `validation, row ${i + 1}: item '${r.itemId}' is not in the catalog`);
    if (user < 0 || seq.userStart[user + 1] === seq.userStart[user]) return;
    let list = byUser.get(user);
    if (!list) byUser.set(user, (list = []));
    list.push(item);
  });
  const list = [...byUser.keys()].sort((a, b) => a - b);
  const out: number[] = [];
  const start = [0];
  const kept: number[] = [];
  for (const u of list) {
    const seen = new Set(seq.seqItem.subarray(seq.userStart[u], seq.userStart[u + 1]));
    const targets = [...new Set(byUser.get(u)!)].filter((i) => !seen.has(i));
    if (targets.length === 0) continue;
    kept.push(u);
    out.push(...targets);
    start.push(out.length);
  }
  const users32 = Int32Array.from(kept);
  const ends = users32.map((u) => seq.userStart[u + 1]);
  return { users: users32, histEnd: ends, seenEnd: ends.slice(), start: Int32Array.from(start), items: Int32Array.from(out) };
}

function buildSequences(
  interactions: InteractionRow[],
  items: Vocab,
  users: Vocab,
): { userStart: Int32Array; seqItem: Int32Array; seqUser: Int32Array; histEnd: Int32Array } {
  const n = interactions.length;
  const U = users.size;
  const userOf = new Int32Array(n);
  const userStart = new Int32Array(U + 1);
  for (let i = 0; i < n; i++) {
    const u = users.indexOf(interactions[i].userId) - 1;
    userOf[i] = u;
    userStart[u + 1]++;
  }
  for (let u = 0; u < U; u++) userStart[u + 1] += userStart[u];
  const fill = userStart.slice(0, U);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[userOf[i]]++] = i;
  // Within a user, oldest first; equal timestamps keep file order (Array.prototype.sort is stable).
  for (let u = 0; u < U; u++) {
    const a = userStart[u];
    const b = userStart[u + 1];
    if (b - a < 2) continue;
    const seg = Array.from(order.subarray(a, b));
    seg.sort((x, y) => interactions[x].timestamp - interactions[y].timestamp);
    order.set(seg, a);
  }
  const seqItem = new Int32Array(n);
  const seqUser = new Int32Array(n);
  const histEnd = new Int32Array(n);
  for (let u = 0; u < U; u++) {
    for (let p = userStart[u]; p < userStart[u + 1]; p++) {
      const r = interactions[order[p]];
      seqItem[p] = items.indexOf(r.itemId) - 1;
      seqUser[p] = u;
      // The history of a pair is what came strictly before it: ties are not "before".
      histEnd[p] = p > userStart[u] && interactions[order[p - 1]].timestamp === r.timestamp ? histEnd[p - 1] : p;
    }
  }
  return { userStart, seqItem, seqUser, histEnd };
}

function firstSeen(values: Iterable<string>): string[] {
  const seen = new Set<string>();
  for (const v of values) seen.add(v);
  return [...seen];
}

function numericInput(name: string, records: Record<string, number>[]): NumericInput | null {
  const columns = firstSeen(records.flatMap((r) => Object.keys(r))).sort();
  if (columns.length === 0) return null;
  const mean: number[] = [];
  const std: number[] = [];
  for (const c of columns) {
    let n = 0;
    let sum = 0;
    let sq = 0;
    for (const r of records) {
      const x = r[c];
      if (typeof x !== 'number' || !Number.isFinite(x)) continue;
      n++;
      sum += x;
      sq += x * x;
    }
    const m = n > 0 ? sum / n : 0;
    const variance = n > 0 ? Math.max(0, sq / n - m * m) : 0;
    const s = Math.sqrt(variance);
    mean.push(m);
    // A constant column carries no signal; std 1 keeps it at 0 instead of dividing by zero.
    std.push(s > 1e-12 ? s : 1);
  }
  return { name, kind: 'numeric', dtype: 'float32', shape: ['batch', columns.length], columns, mean, std };
}
