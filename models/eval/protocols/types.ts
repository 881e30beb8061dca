/**
 * What an evaluation protocol produces from a log of interactions: the rows a model may train on,
 * the rows it may use for early stopping, and for every evaluated user what the model sees and
 * what it must find. Every model, baseline and view of one run is scored on the same users.
 */
import type { InteractionRow } from '../../../shared/data/types.js';

export type ProtocolName = 'random' | 'temporal';
export const PROTOCOL_NAMES: readonly ProtocolName[] = ['random', 'temporal'];

export interface ProtocolUser {
  userId: string;
  /** What the user tower sees, item ids oldest first (the user's training items). */
  history: string[];
  /** What the ranker sees as the session, oldest first (also excluded from ranking). */
  session: string[];
  /** Items never to recommend to this user: history, session and validation items. */
  exclude: ReadonlySet<string>;
  /** The held-out items to find; never empty for an evaluated user. */
  relevant: ReadonlySet<string>;
}

export interface ProtocolSplit {
  protocol: ProtocolName;
  seed: number;
  /** The parameters that, with the data and the seed, determine the split. */
  params: Record<string, number>;
  /** Rows a model may train on. */
  train: InteractionRow[];
  /** Rows a trainer may use for early stopping; never a test row. */
  validation: InteractionRow[];
  /** Evaluated users, sorted by id (so per-user results line up across runs). */
  users: ProtocolUser[];
  /** sha256 of the training rows: a model folder records it so evaluation can refuse leaked test rows. */
  trainFingerprint: string;
}
