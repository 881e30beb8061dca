/**
 * Per-user temporal holdout: each user's last `perUser` interactions by time become the future
 * that evaluation tries to predict.
 *
 * The rule lives in HoldoutSelector, which sees one row at a time and keeps only each user's
 * latest `perUser` rows, so that the MovieLens importer can apply exactly the same rule to 25M
 * ratings in a streaming pass, and splitHoldout applies it to rows in memory.
 *
 * Order: by timestamp, ties broken by input position (a later row counts as later), so the
 * result is deterministic whatever the sort implementation.
 */
import type { InteractionRow } from './types.js';

export interface SplitOptions {
  /** How many of each user's latest interactions go to holdout. */
  perUser: number;
  /** A user is only split if at least this many interactions remain in train (default 1). */
  minTrain?: number;
}

interface Tail {
  count: number;
  /** The user's latest rows so far, kept sorted ascending by (timestamp, row). */
  ts: number[];
  rows: number[];
}

export class HoldoutSelector {
  private readonly users = new Map<string, Tail>();
  private readonly perUser: number;
  private readonly minTrain: number;
  private lastUser: string | null = null;
  private lastTail: Tail | undefined;

  constructor(opts: SplitOptions) {
    if (!Number.isInteger(opts.perUser) || opts.perUser < 0) throw new RangeError(`perUser must be a non-negative integer, got ${opts.perUser}`);
    const minTrain = opts.minTrain ?? 1;
    if (!Number.isInteger(minTrain) || minTrain < 0) throw new RangeError(`minTrain must be a non-negative integer, got ${minTrain}`);
    this.perUser = opts.perUser;
    this.minTrain = minTrain;
  }

  /** Rows must be offered with increasing `row` numbers (their position in the input). */
  add(userId: string, timestamp: number, row: number): void {
    // Logs are usually grouped by user: skip the map lookup while the user stays the same.
    let t = userId === this.lastUser ? this.lastTail : this.users.get(userId);
    if (!t) {
      t = { count: 0, ts: [], rows: [] };
      this.users.set(userId, t);
    }
    this.lastUser = userId;
    this.lastTail = t;
    t.count++;
    if (this.perUser === 0) return;
    // Rows arrive in increasing order, so a tie on timestamp puts the new row last.
    if (t.ts.length === this.perUser) {
      if (timestamp < t.ts[0]) return;
      t.ts.shift();
      t.rows.shift();
    }
    let i = t.ts.length;
    while (i > 0 && t.ts[i - 1] > timestamp) i--;
    t.ts.splice(i, 0, timestamp);
    t.rows.splice(i, 0, row);
  }

  /** Rows (as given to add) that go to holdout. */
  holdoutRows(): Set<number> {
    const out = new Set<number>();
    for (const t of this.users.values()) {
      if (t.count - t.rows.length < this.minTrain) continue;
      for (const r of t.rows) out.add(r);
    }
    return out;
  }

  get userCount(): number {
    return this.users.size;
  }
}

/**
 * Splits rows into train and holdout. Both keep the input order; a user with fewer than
 * perUser + minTrain interactions stays entirely in train.
 */
export function splitHoldout(interactions: readonly InteractionRow[], opts: SplitOptions): { train: InteractionRow[]; holdout: InteractionRow[] } {
  const sel = new HoldoutSelector(opts);
  for (let i = 0; i < interactions.length; i++) sel.add(interactions[i].userId, interactions[i].timestamp, i);
  const held = sel.holdoutRows();
  const train: InteractionRow[] = [];
  const holdout: InteractionRow[] = [];
  for (let i = 0; i < interactions.length; i++) (held.has(i) ? holdout : train).push(interactions[i]);
  return { train, holdout };
}
