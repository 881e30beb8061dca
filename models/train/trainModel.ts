/**
 * The starter trainer's entry point: towers, then the ranker, then the model folder.
 * Everything is the project's own TypeScript over Float32Array, seeded and reproducible.
 */
import { TwoTowerError } from '../../shared/errors.js';
import type { InteractionRow, ItemRow, UserRow } from '../../shared/data/types.js';
import { Random } from '../../shared/data/random.js';
import { prepareData, type PreparedData } from './dataset.js';
import { trainRanker } from './trainRanker.js';
import { defaultsFor, resolveObjective } from './trainDefaults.js';
import { trainTowers, type TowerObjective, type TowerTrainOptions, type TowerTrainResult } from './trainTowers.js';
import { evaluateRecallEnsemble, validationSet } from './towerValidation.js';
import { writeModelFolder } from './writeModel.js';

export interface TrainOptions {
  /** 'full' softmax over the catalog, 'in-batch' sampled softmax, or 'auto' by catalog size (default). */
  objective?: TowerObjective | 'auto';
  /** Embedding dimension (default: full 64, in-batch 32; see trainDefaults.ts for all defaults). */
  dim?: number;
  /** Maximum epochs; early stopping may end sooner. */
  epochs?: number;
  /** Epochs without a better validation recall before stopping. */
  patience?: number;
  /** Epochs without a better validation recall before the learning rate is halved (0: never). */
  lrPatience?: number;
  /** In-batch objective: pairs per batch; the other pairs of a batch are each pair's negatives (default 256). */
  batchSize?: number;
  /** Adam learning rate (default 0.005). */
  lr?: number;
  /** Softmax temperature over the similarity (default 0.07). */
  temperature?: number;
  seed?: number;
  /** Most recent items of the user tower's history input. */
  maxHistory?: number;
  /** Width of the summed input embeddings (default 2 × dim). */
  width?: number;
  /** Hidden units of each tower's MLP. */
  hidden?: number;
  /** What the user tower sees for a target: 'before' it in time (default), or the user's 'others' items. */
  historyMode?: 'before' | 'others';
  /** In-batch objective: logQ correction strength (default 1). */
  logQWeight?: number;
  /** Full objective: users per step (default 64). */
  usersPerBatch?: number;
  /** Full objective, 'others': share of a user's items that are targets per step (default: full 0.6; in-batch does not use it). */
  targetShare?: number;
  /** Full objective, 'others': the input items are targets too (as Mult-DAE). */
  inputTargets?: boolean;
  /** Full objective: 'user' = every user weighs the same; 'item' = every target does (as Mult-VAE). */
  targetWeighting?: 'user' | 'item';
  /** Full objective, 'user' weighting: a user with n targets weighs n^(1 - targetPower), normalised (1: every user the same). */
  targetPower?: number;
  /** Decay of an exponential moving average of the tower weights used for validation and the result (0: none). */
  ema?: number;
  /**
   * The average's decay after step n is min(ema, (1 + n) / (emaWarmup + n)): the smaller, the
   * sooner it nears ema and the further back the average reaches (> 1).
   */
  emaWarmup?: number;
  /** Full objective: popularity boost β learned by training on logits minus β·log q(item). */
  popularityBoost?: number;
  /** Decoupled (AdamW) weight decay. */
  weightDecay?: number;
  /** Probability of hiding the user id in a training example. */
  userIdDropout?: number;
  /** 'cosine' (default) or 'dot' (the item tower's output is not normalised). */
  similarity?: 'cosine' | 'dot';
  /**
   * Seed ensemble: train this many members alike, member m with seed + m, and export them as one
   * model of dim × members (towerEnsemble.ts). Default 2 for the full objective with the 'others'
   * history, else 1.
   */
  ensemble?: number;
  /** User tower history pooling: 'mean' (default) or 'sqrtn'. */
  historyPooling?: 'mean' | 'sqrtn';
  /**
   * The evaluation protocol whose training split this is: recorded in the manifest, so that
   * `twotower eval --model` can check the model never saw that protocol's test rows.
   */
  protocol?: { name: string; seed: number; trainFingerprint: string };
  log?: (line: string) => void;
}

export interface TrainResult {
  modelVersion: string;
  timingsMs: Record<string, number>;
  validation: Record<string, number>;
}

export async function trainModel(
  data: { items: ItemRow[]; users: UserRow[]; interactions: InteractionRow[]; validation?: InteractionRow[] },
  outDir: string,
  opts: TrainOptions = {},
): Promise<TrainResult> {
  const userIds = new Set(data.users.map((u) => u.userId));
  for (const r of data.interactions) userIds.add(r.userId);
  const objective = resolveObjective(opts.objective, data.items.length, userIds.size, opts.dim);
  const historyMode = opts.historyMode ?? 'before';
  const def = defaultsFor(objective, historyMode);
  const dim = positiveInt(opts.dim ?? def.dim, 'dim');
  const epochs = positiveInt(opts.epochs ?? def.epochs, 'epochs');
  const batchSize = positiveInt(opts.batchSize ?? 256, 'batchSize');
  const maxHistory = positiveInt(opts.maxHistory ?? def.maxHistory, 'maxHistory');
  const lr = positiveNumber(opts.lr ?? 0.005, 'lr');
  const temperature = positiveNumber(opts.temperature ?? 0.07, 'temperature');
  const seed = opts.seed ?? 42;
  if (!Number.isInteger(seed)) throw new TwoTowerError('BAD_INPUT', `seed must be an integer, got ${seed}`);
  const log = opts.log ?? (() => undefined);
  const width = positiveInt(opts.width ?? 2 * dim, 'width');
  const hidden = positiveInt(opts.hidden ?? def.hiddenFactor * dim, 'hidden');
  const patience = positiveInt(opts.patience ?? def.patience, 'patience');
  const lrPatience = nonNegative(opts.lrPatience ?? def.lrPatience, 'lrPatience');
  const userIdDropout = opts.userIdDropout ?? def.userIdDropout;
  if (!(userIdDropout >= 0 && userIdDropout <= 1)) throw new TwoTowerError('BAD_INPUT', `userIdDropout must be in [0, 1], got ${userIdDropout}`);
  const weightDecay = nonNegative(opts.weightDecay ?? def.weightDecay, 'weightDecay');
  const popularityBoost = nonNegative(opts.popularityBoost ?? def.popularityBoost, 'popularityBoost');
  const ema = opts.ema ?? def.ema;
  if (!(ema >= 0 && ema < 1)) throw new TwoTowerError('BAD_INPUT', `ema must be in [0, 1), got ${ema}`);
  const emaWarmup = opts.emaWarmup ?? def.emaWarmup;
  if (!(emaWarmup > 1)) throw new TwoTowerError('BAD_INPUT', `emaWarmup must be > 1, got ${emaWarmup}`);
  const targetShare = opts.targetShare ?? def.targetShare;
  if (!(targetShare > 0 && targetShare < 1)) throw new TwoTowerError('BAD_INPUT', `targetShare must be in (0, 1), got ${targetShare}`);
  const targetPower = opts.targetPower ?? def.targetPower;
  if (!(targetPower >= 0 && targetPower <= 1)) throw new TwoTowerError('BAD_INPUT', `targetPower must be in [0, 1], got ${targetPower}`);
  const similarity = opts.similarity ?? 'cosine';
  const historyPooling = opts.historyPooling ?? 'mean';
  const ensemble = positiveInt(opts.ensemble ?? def.ensemble, 'ensemble');

  const timingsMs: Record<string, number> = {};
  const t0 = performance.now();
  let t = t0;
  const lap = (name: string): void => {
    const now = performance.now();
    timingsMs[name] = Math.round(now - t);
    t = now;
  };

  const d = prepareData(data, { maxHistory, dim });
  lap('prepare');
  log(`data: ${d.nItems} items, ${d.nUsers} users, ${d.seqItem.length} interactions (${d.trainPos.length} training pairs)`);
  if (d.trainPos.length < 2) throw new TwoTowerError('BAD_INPUT', 'interactions: fewer than 2 training pairs; there is nothing to train on');

  const towerOptions: TowerTrainOptions = {
    objective,
    historyMode,
    similarity,
    historyPooling,
    weightDecay,
    popularityBoost,
    lrPatience,
    logQWeight: opts.logQWeight,
    usersPerBatch: opts.usersPerBatch,
    targetShare,
    inputTargets: opts.inputTargets,
    targetWeighting: opts.targetWeighting,
    targetPower,
    ema,
    emaWarmup,
    dim,
    width,
    hidden,
    epochs,
    batchSize,
    lr,
    temperature,
    seed,
    patience,
    userIdDropout,
    itemIdDropout: 0.1,
    maxValidationUsers: scoringBudget(1e9, d.nItems * dim, 500, 5000),
    log,
  };
  // Members differ only by seed; member 0 is what a single model (ensemble 1) would be.
  const members: TowerTrainResult[] = [];
  for (let m = 0; m < ensemble; m++) {
    if (ensemble > 1) log(`ensemble member ${m + 1}/${ensemble} (seed ${seed + m})`);
    members.push(await trainTowers(d, { ...towerOptions, seed: seed + m }));
  }
  const towers = members[0];
  const itemNets = members.map((m) => m.itemNet);
  const userNets = members.map((m) => m.userNet);
  const towerValidation =
    ensemble === 1 ? towers.validation : ensembleValidation(d, members, towerOptions.maxValidationUsers, seed);
  lap('towers');

  const ranker = trainRanker(d, itemNets, userNets, {
    hidden: 16,
    epochs: 20,
    patience: 4,
    lr: 0.01,
    candidates: 100,
    sessionMax: 5,
    maxUsers: scoringBudget(3e9, d.nItems * dim, 1000, 20000),
    listsPerUser: 1,
    seed,
    log,
  });
  lap('ranker');

  const validation = { ...towerValidation, ...ranker.validation };
  const manifest = await writeModelFolder(outDir, {
    dim: dim * ensemble,
    itemSpec: d.itemSpec,
    userSpec: d.userSpec,
    itemWeights: ensemble === 1 ? towers.itemNet.weights() : itemNets.map((n) => n.weights()),
    userWeights: ensemble === 1 ? towers.userNet.weights() : userNets.map((n) => n.weights()),
    rankerWeights: ranker.net.weights(),
    vocabs: d.vocabs,
    training: {
      params: {
        objective, dim, width, hidden, epochs, patience, lrPatience, batchSize, lr, temperature, maxHistory, historyMode,
        similarity, historyPooling, weightDecay, popularityBoost, ema, emaWarmup, targetShare, targetPower,
        ...(ensemble > 1 ? { ensemble } : {}),
        ...(opts.logQWeight !== undefined ? { logQWeight: opts.logQWeight } : {}),
        ...(opts.usersPerBatch !== undefined ? { usersPerBatch: opts.usersPerBatch } : {}),
        ...(opts.inputTargets !== undefined ? { inputTargets: opts.inputTargets } : {}),
        ...(opts.targetWeighting !== undefined ? { targetWeighting: opts.targetWeighting } : {}),
        userIdDropout, itemIdDropout: 0.1, rankerHidden: 16, rankerCandidates: 100, rankerListsPerUser: 1,
        ...(opts.protocol ? { protocol: opts.protocol.name, protocolSeed: opts.protocol.seed, trainFingerprint: opts.protocol.trainFingerprint } : {}),
      },
      seed,
      // Member 0's epochs; the others' best epochs are in validation (member2.best_epoch, …).
      epochs: towers.epochs,
      bestEpoch: towers.bestEpoch,
      validation,
      timingsMs: { ...timingsMs },
      counts: { items: d.nItems, users: d.nUsers, interactions: d.seqItem.length, trainingPairs: d.trainPos.length },
    },
  });
  lap('export');
  timingsMs.total = Math.round(performance.now() - t0);
  log(`model ${manifest.modelVersion} written to ${outDir} in ${timingsMs.total} ms`);
  return { modelVersion: manifest.modelVersion, timingsMs, validation };
}

/**
 * The ensemble's validation recall, with each member's own figures beside it (member1.recall@10,
 * member1.best_epoch, …) so that a report shows what averaging added.
 */
function ensembleValidation(d: PreparedData, members: readonly TowerTrainResult[], maxUsers: number, seed: number): Record<string, number> {
  // The users member 0 validated on (trainTowers draws them the same way from its seed).
  const val = validationSet(d, maxUsers, new Random(seed).fork(5));
  const [r10, r50] = evaluateRecallEnsemble(d, members, val, [10, 50]);
  const out: Record<string, number> = {
    'recall@10': r10,
    'recall@50': r50,
    'popularity_recall@10': members[0].validation['popularity_recall@10'],
    validation_users: val.rows.length,
  };
  members.forEach((m, k) => {
    out[`member${k + 1}.recall@10`] = m.validation['recall@10'];
    out[`member${k + 1}.best_epoch`] = m.bestEpoch;
  });
  return out;
}

/**
 * How many users to score against the whole catalog for a budget of multiply-adds: validation and
 * ranker lists score users × items × dim, which must stay seconds, not minutes, on big catalogs.
 */
function scoringBudget(macs: number, perUser: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, Math.floor(macs / perUser)));
}

function positiveInt(x: number, name: string): number {
  if (!Number.isInteger(x) || x <= 0) throw new TwoTowerError('BAD_INPUT', `${name} must be a positive integer, got ${x}`);
  return x;
}

function nonNegative(x: number, name: string): number {
  if (!Number.isFinite(x) || x < 0) throw new TwoTowerError('BAD_INPUT', `${name} must be a non-negative number, got ${x}`);
  return x;
}

function positiveNumber(x: number, name: string): number {
  if (!Number.isFinite(x) || x <= 0) throw new TwoTowerError('BAD_INPUT', `${name} must be a positive number, got ${x}`);
  return x;
}
