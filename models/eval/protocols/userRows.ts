/**
 * Shared steps of the protocols: group a log by user (deterministically, whatever the file order),
 * drop repeated (user, item) pairs, and fingerprint a training set.
 */
import { createHash } from 'node:crypto';
import type { InteractionRow } from '../../../shared/data/types.js';

/**
 * Each user's rows, oldest first; equal timestamps keep input order (so the result only depends on
 * the log). A repeated (user, item) pair keeps its first occurrence: an item cannot be both
 * history and target. Users come out sorted by id.
 */
export function rowsByUser(rows: readonly InteractionRow[], keep: (r: InteractionRow) => boolean = () => true): Map<string, InteractionRow[]> {
  const byUser = new Map<string, { row: InteractionRow; at: number }[]>();
  rows.forEach((row, at) => {
    if (!keep(row)) return;
    let list = byUser.get(row.userId);
    if (!list) byUser.set(row.userId, (list = []));
    list.push({ row, at });
  });
  const out = new Map<string, InteractionRow[]>();
  for (const userId of [...byUser.keys()].sort(compareIds)) {
    const list = byUser.get(userId)!;
    list.sort((a, b) => a.row.timestamp - b.row.timestamp || a.at - b.at);
    const seen = new Set<string>();
    const kept: InteractionRow[] = [];
    for (const { row } of list) {
      if (seen.has(row.itemId)) continue;
      seen.add(row.itemId);
      kept.push(row);
    }
    out.set(userId, kept);
  }
  return out;
}

/** Numeric ids in numeric order (MovieLens users 1, 2, … 10), other ids as strings. */
export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** 32-bit FNV-1a of a string: a stable per-user random stream, independent of other users. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Order-independent sha256 of the (user, item) pairs of a training set. */
export function fingerprintRows(rows: readonly InteractionRow[]): string {
  const keys = rows.map((r) => `${r.userId}\t${r.itemId}`).sort();
  const h = createHash('sha256');
  for (const k of keys) h.update(k).update('\n');
  return h.digest('hex').slice(0, 16);
}
