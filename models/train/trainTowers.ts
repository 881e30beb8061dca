/**
 * The two-tower training loop: epochs of one of two objectives, Adam, early stopping on Recall@10
 * of the held-out targets (d.heldOut), keeping the best epoch's weights.
 *
 *   'full'      batches of users scored against every catalog item (userEpochs.ts): exact softmax,
 *               no sampling bias; costs users × items × dim per epoch, so it is for catalogs where
 *               that stays seconds
 *   'in-batch'  batches of (user, item) pairs scored against the batch's items with the logQ
 *               correction (pairEpochs.ts): the sampled softmax that scales to any catalog
 * 'auto' picks 'full' when an epoch of it fits FULL_SOFTMAX_BUDGET multiply-adds.
 */
import { Random } from '../../shared/data/random.js';
import type { PreparedData } from './dataset.js';
import { pairEpochs } from './pairEpochs.js';
import { TowerNet, slotsOf } from './towerNet.js';
import { OnnxScorer } from './onnxScorer.js';
import { evaluateRecallOnnx, popularityRecall, validationSet } from './towerValidation.js';
import { userEpochs } from './userEpochs.js';

export { embedAllItems, embedUsersAt, fillItemRows, fillUserRowsAt } from './towerInputs.js';
export { markSeen } from './towerValidation.js';

/** Multiply-adds of the catalog softmax per epoch (users × items × dim × 3) allowed for 'auto'. */
export const FULL_SOFTMAX_BUDGET = 2e10;

export type TowerObjective = 'full' | 'in-batch';

export interface TowerTrainOptions {
  dim: number;
  width: number;
  hidden: number;
  epochs: number;
  /** Pairs per batch of the in-batch objective. */
  batchSize: number;
  lr: number;
  temperature: number;
  seed: number;
  /** Epochs without a better validation recall before stopping. */
  patience: number;
  /**
   * Epochs without a better validation recall before the learning rate is halved (and training
   * resumes from the best epoch's weights); 0 or absent: never.
   */
  lrPatience?: number;
  /** Probability of hiding the user id in a training example, so the unknown-user slot learns cold start. */
  userIdDropout: number;
  /** Same for the item id: cold items then fall back to a trained unknown-item row plus features. */
  itemIdDropout: number;
  /** At most this many users are scored for validation each epoch. */
  maxValidationUsers: number;
  /** Default 'auto'. */
  objective?: TowerObjective | 'auto';
  /**
   * What the user tower sees when learning a target: 'before' = what the user did before it
   * (next-item prediction, as in a temporal hold-out); 'others' = a sample of the user's other
   * training items (the user as a bag, as in a random hold-out). Default 'before'.
   */
  historyMode?: 'before' | 'others';
  /** In-batch: strength of the logQ correction, 1 = full, 0 = none (default 1). */
  logQWeight?: number;
  /** How the user tower pools its history: 'mean' (default) or 'sqrtn' (sum / √count). */
  historyPooling?: 'mean' | 'sqrtn';
  /** 'cosine' (default): both towers L2-normalised; 'dot': the item tower's norm is free. */
  similarity?: 'cosine' | 'dot';
  /**
   * Decay of an exponential moving average of the weights: each epoch's validation scores the
   * live and the averaged weights, and early stopping and the result take the better (0 or
   * absent: no averaging; without validation users the live weights are kept).
   */
  ema?: number;
  /** The average's decay after step n is min(ema, (1 + n) / (emaWarmup + n)) (default 10). */
  emaWarmup?: number;
  /** Decoupled (AdamW) weight decay on every parameter (default 0). */
  weightDecay?: number;
  /** Full: users per batch (default 64). */
  usersPerBatch?: number;
  /** Full, 'others': share of a user's items that are targets in a step (default 0.2). */
  targetShare?: number;
  /** Full, 'others': the input items are targets too, not left out of the softmax (as Mult-DAE). */
  inputTargets?: boolean;
  /** Full: train with logits minus β·log q(item), so that the model learns a popularity boost β (default 0). */
  popularityBoost?: number;
  /** Full: 'user' (default) = every user weighs the same; 'item' = every target does (as Mult-VAE). */
  targetWeighting?: 'user' | 'item';
  /**
   * Full, 'user' weighting: a user with n targets weighs n^(1 - targetPower) (targets n^-targetPower
   * each), normalised over the batch; 1 (default): every user the same, lower: heavy users count more.
   */
  targetPower?: number;
  /** Full, 'before': items after the cut that are targets (default 10). */
  futureWindow?: number;
  log: (line: string) => void;
}

export interface EpochStats {
  epoch: number;
  loss: number;
  recallAt10: number;
  ms: number;
}

export interface EpochResult {
  loss: number;
  /** Training targets seen in the epoch. */
  examples: number;
}

/** One objective's epochs over shared towers; close releases what it holds (an onnxruntime session). */
export interface EpochRunner {
  /** One epoch at the learning rate times lrScale. */
  run(lrScale?: number): Promise<EpochResult>;
  close(): Promise<void>;
}

export interface TowerTrainResult {
  itemNet: TowerNet;
  userNet: TowerNet;
  objective: TowerObjective;
  epochs: EpochStats[];
  bestEpoch: number;
  validation: Record<string, number>;
}

export function chooseObjective(d: PreparedData, o: Pick<TowerTrainOptions, 'objective' | 'dim'>): TowerObjective {
  const want = o.objective ?? 'auto';
  if (want !== 'auto') return want;
  return d.nUsers * d.nItems * o.dim * 3 <= FULL_SOFTMAX_BUDGET ? 'full' : 'in-batch';
}

export async function trainTowers(d: PreparedData, o: TowerTrainOptions): Promise<TowerTrainResult> {
  const rng = new Random(o.seed);
  const sizes = { width: o.width, hidden: o.hidden, dim: o.dim };
  const vocabSize = (name: string): number => d.vocabs.get(name)!.size;
  // 'dot': the item tower's norm is free (a per-item scale such as popularity, which a cosine
  // model can only fold into directions); the user side stays normalised, which changes no
  // user's ranking and keeps the logits' scale in the items.
  const itemNet = new TowerNet(slotsOf(d.itemSpec, vocabSize), { ...sizes, normalize: o.similarity !== 'dot' }, rng.fork(1));
  const userNet = new TowerNet(slotsOf(d.userSpec, vocabSize, o.historyPooling ?? 'mean'), sizes, rng.fork(2));
  const val = validationSet(d, o.maxValidationUsers, rng.fork(5));
  const objective = chooseObjective(d, o);
  const runner = objective === 'full' ? await userEpochs(d, itemNet, userNet, o, rng) : pairEpochs(d, itemNet, userNet, o, rng);
  if (o.ema) {
    itemNet.enableEma(o.ema, o.emaWarmup);
    userNet.enableEma(o.ema, o.emaWarmup);
  }
  // Exchanges live and averaged weights: training always continues on the live ones.
  const swap = (): void => {
    itemNet.swapEma();
    userNet.swapEma();
  };
  const scorer = await OnnxScorer.create(o.width, o.hidden, o.dim, { i: itemNet.normalize, u: userNet.normalize });
  o.log(`towers: ${objective} softmax, history '${o.historyMode ?? 'before'}', dim ${o.dim}, temperature ${o.temperature}, lr ${o.lr}`);

  const epochs: EpochStats[] = [];
  let best = -1;
  let bestEpoch = 0;
  let bestSnap: { item: Float32Array[]; user: Float32Array[] } | null = null;
  let validation: Record<string, number>;
  let lrScale = 1;
  let lastDecay = 0;
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const t0 = performance.now();
      const r = await runner.run(lrScale);
      let [recall] = await evaluateRecallOnnx(d, itemNet, userNet, val, [10], scorer);
      // With a moving average, validation scores both the live and the averaged weights and keeps
      // the better (the average wins once training has run a while; short runs keep the live ones).
      let averaged = false;
      if (o.ema) {
        swap();
        const [avgRecall] = await evaluateRecallOnnx(d, itemNet, userNet, val, [10], scorer);
        if (avgRecall > recall) {
          recall = avgRecall;
          averaged = true;
        } else swap();
      }
      const snap = recall > best ? { item: itemNet.snapshot(), user: userNet.snapshot() } : null;
      if (averaged) swap();
      const stats = { epoch, loss: r.loss, recallAt10: recall, ms: Math.round(performance.now() - t0) };
      epochs.push(stats);
      const rate = Math.round(r.examples / (Math.max(1, stats.ms) / 1000));
      o.log(`epoch ${epoch}/${o.epochs}: loss ${stats.loss.toFixed(4)}, validation recall@10 ${recall.toFixed(4)}${averaged ? ' averaged' : ''} (${val.rows.length} users), ${stats.ms} ms (${rate} targets/s incl. validation)`);
      if (val.rows.length === 0) {
        // Nothing to validate on (no user has two interactions): train every epoch, keep the last.
        bestEpoch = epoch;
      } else if (snap) {
        best = recall;
        bestEpoch = epoch;
        bestSnap = snap;
      } else if (epoch - bestEpoch >= o.patience) {
        o.log(`early stop: no better recall since epoch ${bestEpoch}`);
        break;
      } else if (o.lrPatience && epoch - Math.max(bestEpoch, lastDecay) >= o.lrPatience && bestSnap) {
        // A plateau: smaller steps from the best point so far usually find a little more.
        lrScale /= 2;
        lastDecay = epoch;
        itemNet.restore(bestSnap.item);
        userNet.restore(bestSnap.user);
        o.log(`learning rate x${lrScale} from epoch ${bestEpoch}'s weights`);
      }
    }
    if (bestSnap) {
      itemNet.restore(bestSnap.item);
      userNet.restore(bestSnap.user);
    }
    itemNet.fillUntrainedRows();
    userNet.fillUntrainedRows();
    const [r10, r50] = await evaluateRecallOnnx(d, itemNet, userNet, val, [10, 50], scorer);
    validation = { 'recall@10': r10, 'recall@50': r50, 'popularity_recall@10': popularityRecall(d, val, 10), validation_users: val.rows.length };
  } finally {
    await runner.close();
    await scorer.release();
  }
  return { itemNet, userNet, objective, epochs, bestEpoch, validation };
}
