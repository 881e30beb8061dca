/**
 * The `temporal` protocol, how production sees it: per user, by time, the last `future`
 * interactions are what to predict, the `session` interactions just before them are the session
 * the ranker sees at request time, and everything before is history, the only part the model
 * trains on (as if the nightly build ran just before the session started).
 *
 * Retrieval embeds the user from the history; the full pipeline also sees the session. Both
 * exclude history and session items. A future item the user already had is dropped from the
 * targets (it can never be recommended). Users with no history left, or no new future item, are
 * not evaluated; their rows still train the model. No randomness: the seed is recorded only.
 */
import type { InteractionRow } from '../../../shared/data/types.js';
import type { ProtocolSplit, ProtocolUser } from './types.js';
import { fingerprintRows, rowsByUser } from './userRows.js';

export interface TemporalProtocolOptions {
  /** Latest interactions per user to predict (default 3). */
  future?: number;
  /** Interactions before the cut that form the session (default 5). */
  session?: number;
  /** Interactions rated below this are dropped first (default: keep all). */
  minRating?: number;
  seed?: number;
}

export function temporalSplit(rows: readonly InteractionRow[], opts: TemporalProtocolOptions = {}): ProtocolSplit {
  const future = opts.future ?? 3;
  const sessionLength = opts.session ?? 5;
  const minRating = opts.minRating ?? -Infinity;
  if (!Number.isInteger(future) || future < 1) throw new RangeError(`future must be a positive integer, got ${future}`);
  if (!Number.isInteger(sessionLength) || sessionLength < 0) throw new RangeError(`session must be a non-negative integer, got ${sessionLength}`);

  const train: InteractionRow[] = [];
  const users: ProtocolUser[] = [];
  for (const [userId, list] of rowsByUser(rows, (r) => r.rating >= minRating)) {
    const cut = list.length - future;
    const sessionStart = cut - sessionLength;
    if (sessionStart < 1) {
      // Too short to have history, session and future: all of it is training data.
      train.push(...list);
      continue;
    }
    const history = list.slice(0, sessionStart);
    const session = list.slice(sessionStart, cut);
    train.push(...history);
    const exclude = new Set([...history, ...session].map((r) => r.itemId));
    const relevant = new Set(list.slice(cut).map((r) => r.itemId).filter((id) => !exclude.has(id)));
    if (relevant.size === 0) continue;
    users.push({ userId, history: history.map((r) => r.itemId), session: session.map((r) => r.itemId), exclude, relevant });
  }
  return {
    protocol: 'temporal',
    seed: opts.seed ?? 0,
    params: { future, session: sessionLength, ...(Number.isFinite(minRating) ? { minRating } : {}) },
    train,
    validation: [],
    users,
    trainFingerprint: fingerprintRows(train),
  };
}
