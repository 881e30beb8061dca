/**
 * The `random` protocol, comparable with published tables (RecBole's defaults, seed 2020):
 * interactions rated at least `minRating` are the positives; each user's positives are shuffled
 * and split 80/10/10 into train / validation / test; each user ranks ALL items except their own
 * train and validation items; users without a test item are not averaged.
 *
 * Split sizes follow RecBole's rule so that the numbers are comparable: validation and test get
 * floor(10% of n) each, train the rest; when 10% of n is between 0 and 1, test and then validation
 * take one item from train as long as train keeps more than one.
 *
 * Each user's shuffle starts from the user's items in id order and draws from its own stream (seed
 * mixed with a hash of the user id), so a user's split depends only on the seed and that user's
 * rows, not on file order or other users.
 */
import { mixSeed, Random } from '../../../shared/data/random.js';
import type { InteractionRow } from '../../../shared/data/types.js';
import type { ProtocolSplit, ProtocolUser } from './types.js';
import { compareIds, fingerprintRows, hashString, rowsByUser } from './userRows.js';

export interface RandomProtocolOptions {
  seed?: number;
  /** Ratings at or above this are positives (default 3). */
  minRating?: number;
  /** Validation and test shares (default 0.1 each). */
  validationShare?: number;
  testShare?: number;
  /** Latest training items the ranker sees as the session (default 5). */
  session?: number;
}

export const RANDOM_DEFAULT_SEED = 2020;

export function randomSplit(rows: readonly InteractionRow[], opts: RandomProtocolOptions = {}): ProtocolSplit {
  const seed = opts.seed ?? RANDOM_DEFAULT_SEED;
  const minRating = opts.minRating ?? 3;
  const valShare = opts.validationShare ?? 0.1;
  const testShare = opts.testShare ?? 0.1;
  const sessionLength = opts.session ?? 5;
  if (!(valShare >= 0 && testShare >= 0 && valShare + testShare < 1)) throw new RangeError('validation and test shares must be >= 0 and sum to less than 1');

  const train: InteractionRow[] = [];
  const validation: InteractionRow[] = [];
  const users: ProtocolUser[] = [];
  for (const [userId, positives] of rowsByUser(rows, (r) => r.rating >= minRating)) {
    const rng = new Random(mixSeed(seed, hashString(userId)));
    // Shuffle from an order that only depends on the items, not on how the log is sorted.
    const shuffled = rng.shuffle(positives.slice().sort((a, b) => compareIds(a.itemId, b.itemId)));
    const [nTrain, nVal] = splitSizes(shuffled.length, valShare, testShare);
    const tr = shuffled.slice(0, nTrain);
    const va = shuffled.slice(nTrain, nTrain + nVal);
    const te = shuffled.slice(nTrain + nVal);
    train.push(...tr);
    validation.push(...va);
    if (te.length === 0) continue;
    // The user tower reads history oldest first, as in serving.
    const history = tr.slice().sort((a, b) => a.timestamp - b.timestamp).map((r) => r.itemId);
    users.push({
      userId,
      history,
      session: history.slice(Math.max(0, history.length - sessionLength)),
      exclude: new Set([...tr, ...va].map((r) => r.itemId)),
      relevant: new Set(te.map((r) => r.itemId)),
    });
  }
  return {
    protocol: 'random',
    seed,
    params: { minRating, validationShare: valShare, testShare, session: sessionLength },
    train,
    validation,
    users,
    trainFingerprint: fingerprintRows(train),
  };
}

/** [train, validation, test] sizes of n positives (RecBole's _calcu_split_ids). */
export function splitSizes(n: number, valShare: number, testShare: number): [number, number, number] {
  const ratios = [1 - valShare - testShare, valShare, testShare];
  const cnt = ratios.map((r) => Math.floor(r * n));
  cnt[0] = n - cnt[1] - cnt[2];
  for (let i = 1; i < ratios.length; i++) {
    if (cnt[0] <= 1) break;
    const j = ratios.length - i;
    if (ratios[j] * n > 0 && ratios[j] * n < 1) {
      cnt[j]++;
      cnt[0]--;
    }
  }
  return [cnt[0], cnt[1], cnt[2]];
}
