/** Chooses a protocol by name: the one entry point the CLI, the trainer and the evaluator share. */
import { TwoTowerError } from '../../../shared/errors.js';
import type { InteractionRow } from '../../../shared/data/types.js';
import { RANDOM_DEFAULT_SEED, randomSplit } from './randomProtocol.js';
import { temporalSplit } from './temporalProtocol.js';
import { PROTOCOL_NAMES, type ProtocolName, type ProtocolSplit } from './types.js';

export interface ProtocolOptions {
  seed?: number;
  /** temporal: latest interactions per user to predict. */
  future?: number;
  /** Session length the ranker sees. */
  session?: number;
  minRating?: number;
}

export function parseProtocol(name: string): ProtocolName {
  if ((PROTOCOL_NAMES as readonly string[]).includes(name)) return name as ProtocolName;
  throw new TwoTowerError('BAD_INPUT', `unknown protocol '${name}' (expected ${PROTOCOL_NAMES.join(' or ')})`);
}

export function splitByProtocol(name: ProtocolName, rows: readonly InteractionRow[], opts: ProtocolOptions = {}): ProtocolSplit {
  const split =
    name === 'random'
      ? randomSplit(rows, { seed: opts.seed ?? RANDOM_DEFAULT_SEED, minRating: opts.minRating, session: opts.session })
      : temporalSplit(rows, { seed: opts.seed, future: opts.future, session: opts.session, minRating: opts.minRating });
  if (split.users.length === 0) throw new TwoTowerError('BAD_INPUT', `protocol ${name}: no user has a held-out item to evaluate (${rows.length} interactions)`);
  return split;
}
