/**
 * The ranker: a small MLP over RANK_FEATURES, trained after the towers on what serving will show
 * it. For each user with a held-out interaction (the towers never trained on it), a random number
 * (0..sessionMax) of the interactions just before it play the session; retrieval scores the items
 * with the history before that session; candidates are the top-N unseen items; the label marks the
 * held-out item. Loss: listwise softmax over each list that contains its target.
 */
import { Random } from '../../shared/data/random.js';
import { RANK_FEATURES, computeRankFeatures } from '../../shared/rankFeatures.js';
import type { RankerWeights } from '../towers.js';
import { ADAM_B1, ADAM_B2, ADAM_EPS, Adam, adamLr } from './dense.js';
import type { PreparedData } from './dataset.js';
import { retrieveTopK } from './retrieve.js';
import { embedAllItemsOf, embedUsersAtOf, ensembleDim } from './towerEnsemble.js';
import { markSeen } from './towerValidation.js';
import type { TowerNet } from './towerNet.js';

export interface RankerTrainOptions {
  hidden: number;
  epochs: number;
  lr: number;
  /** Candidates per list (top-N of retrieval). */
  candidates: number;
  /** Longest simulated session. */
  sessionMax: number;
  /** Epochs without a lower validation loss before stopping. */
  patience: number;
  /** Lists built from at most this many users. */
  maxUsers: number;
  /** Lists per user, each with its own random session length (more varied data per target). */
  listsPerUser: number;
  seed: number;
  log: (line: string) => void;
}

/** Feature lists for the ranker: list l has rows l*N .. l*N+count[l]-1. */
export interface RankerLists {
  N: number;
  F: number;
  features: Float32Array;
  count: Int32Array;
  /** Row of the target within its list, -1 when retrieval missed it. */
  target: Int32Array;
  /** User index of each list. */
  user: Int32Array;
}

/** itemNet and userNet: one model's towers, or a seed ensemble's members (towerEnsemble.ts). */
export function buildRankerLists(d: PreparedData, itemNet: TowerNet | readonly TowerNet[], userNet: TowerNet | readonly TowerNet[], o: RankerTrainOptions, rng: Random): RankerLists {
  const itemNets = asMembers(itemNet);
  const userNets = asMembers(userNet);
  const h = d.heldOut;
  const rows = Array.from({ length: h.users.length }, (_, r) => r);
  if (rows.length > o.maxUsers) rng.shuffle(rows).length = o.maxUsers;
  rows.sort((a, b) => a - b);
  const nL = rows.length * o.listsPerUser;
  const N = Math.min(o.candidates, d.nItems);
  const F = RANK_FEATURES.length;
  const itemEmb = embedAllItemsOf(d, itemNets);
  const D = ensembleDim(itemNets);

  // Held-out row of each list; its first target is the label, its other targets are left out of
  // the list (they are neither the label nor a fair negative).
  const rowOf = Int32Array.from({ length: nL }, (_, l) => rows[Math.floor(l / o.listsPerUser)]);
  const uArr = rowOf.map((r) => h.users[r]);
  const sessionStart = new Int32Array(nL);
  for (let l = 0; l < nL; l++) {
    const end = h.seenEnd[rowOf[l]];
    const s = Math.min(rng.int(o.sessionMax + 1), end - d.userStart[uArr[l]]);
    sessionStart[l] = end - s;
  }
  const userEmb = embedUsersAtOf(d, userNets, uArr, sessionStart);
  const got = retrieveTopK(userEmb, nL, itemEmb, d.nItems, D, N, (l, mark, stamp) => {
    const r = rowOf[l];
    markSeen(d, r, mark, stamp);
    for (let t = h.start[r] + 1; t < h.start[r + 1]; t++) mark[h.items[t]] = stamp;
  });

  const popularity = new Float32Array(d.nItems);
  let maxPop = 0;
  for (let i = 0; i < d.nItems; i++) {
    popularity[i] = d.itemCount[i];
    if (d.itemCount[i] > maxPop) maxPop = d.itemCount[i];
  }
  const features = new Float32Array(nL * N * F);
  const count = new Int32Array(nL);
  const target = new Int32Array(nL).fill(-1);
  for (let l = 0; l < nL; l++) {
    const u = uArr[l];
    const row = got.items.subarray(l * N, (l + 1) * N);
    let n = 0;
    while (n < N && row[n] >= 0) n++;
    count[l] = n;
    const want = h.items[h.start[rowOf[l]]];
    for (let k = 0; k < n; k++) if (row[k] === want) target[l] = k;
    const f = computeRankFeatures({
      candidates: row.subarray(0, n),
      retrievalScores: got.scores.subarray(l * N, l * N + n),
      sessionItems: d.seqItem.subarray(sessionStart[l], h.seenEnd[rowOf[l]]),
      embeddings: itemEmb,
      dim: D,
      popularity,
      logMaxPopularity: Math.log1p(maxPop),
      itemCategory: d.itemCategory,
    });
    features.set(f, l * N * F);
  }
  return { N, F, features, count, target, user: uArr };
}

export class RankerNet {
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  readonly w2: Float32Array;
  readonly b2: Float32Array;

  constructor(
    readonly F: number,
    readonly H: number,
    rng: Random,
  ) {
    this.w1 = Float32Array.from({ length: F * H }, () => rng.normal() * Math.sqrt(2 / F));
    this.b1 = new Float32Array(H);
    this.w2 = Float32Array.from({ length: H }, () => rng.normal() * Math.sqrt(1 / H));
    this.b2 = new Float32Array(1);
  }

  /** score = relu(retrieval_score) - relu(-retrieval_score) = retrieval_score, for any similarity. */
  passThroughRetrievalScore(): void {
    this.w1.fill(0);
    this.b1.fill(0);
    this.w2.fill(0);
    this.b2.fill(0);
    const f = RANK_FEATURES.indexOf('retrieval_score') * this.H;
    this.w1[f] = 1;
    this.w2[0] = 1;
    if (this.H > 1) {
      this.w1[f + 1] = -1;
      this.w2[1] = -1;
    }
  }

  /** Scores n rows of F features; hidden activations go to `hid` (n × H) when given. */
  forward(x: Float32Array, n: number, out: Float32Array, hid?: Float32Array): void {
    const { F, H, w1, b1, w2 } = this;
    for (let i = 0; i < n; i++) {
      let s = this.b2[0];
      for (let h = 0; h < H; h++) {
        let z = b1[h];
        for (let f = 0; f < F; f++) z += x[i * F + f] * w1[f * H + h];
        const a = z > 0 ? z : 0;
        if (hid) hid[i * H + h] = a;
        s += a * w2[h];
      }
      out[i] = s;
    }
  }

  weights(): RankerWeights {
    return { inputs: this.F, hidden: this.H, w1: this.w1, b1: this.b1, w2: this.w2, b2: this.b2 };
  }
}

export interface RankerTrainResult {
  net: RankerNet;
  validation: Record<string, number>;
}

function asMembers(net: TowerNet | readonly TowerNet[]): readonly TowerNet[] {
  return Array.isArray(net) ? net : [net as TowerNet];
}

export function trainRanker(d: PreparedData, itemNet: TowerNet | readonly TowerNet[], userNet: TowerNet | readonly TowerNet[], o: RankerTrainOptions): RankerTrainResult {
  const rng = new Random(o.seed).fork(11);
  const lists = buildRankerLists(d, itemNet, userNet, o, rng.fork(1));
  const nL = lists.count.length;
  // Split by user: lists of one user share a target, so they must not straddle the split.
  const userSet = [...new Set(lists.user)];
  rng.fork(2).shuffle(userSet);
  const valUsers = new Set(userSet.slice(0, Math.round(userSet.length * 0.2)));
  const valLists: number[] = [];
  const trainLists: number[] = [];
  for (let l = 0; l < nL; l++) {
    if (valUsers.has(lists.user[l])) valLists.push(l);
    else if (lists.target[l] >= 0) trainLists.push(l);
  }

  const net = new RankerNet(lists.F, o.hidden, rng.fork(3));
  const { F, H } = net;
  const g1 = new Float32Array(F * H);
  const gb1 = new Float32Array(H);
  const g2 = new Float32Array(H);
  const gb2 = new Float32Array(1);
  const opt = [new Adam(net.w1, g1), new Adam(net.b1, gb1), new Adam(net.w2, g2), new Adam(net.b2, gb2)];
  const scores = new Float32Array(lists.N);
  const hid = new Float32Array(lists.N * H);
  const listsPerStep = 16;
  const shuffle = rng.fork(4);
  let step = 0;
  let best = { loss: Infinity, epoch: 0, snap: [] as Float32Array[] };
  for (let epoch = 1; epoch <= o.epochs && trainLists.length > 0; epoch++) {
    shuffle.shuffle(trainLists);
    for (let s0 = 0; s0 < trainLists.length; s0 += listsPerStep) {
      const s1 = Math.min(trainLists.length, s0 + listsPerStep);
      for (let s = s0; s < s1; s++) {
        const l = trainLists[s];
        const n = lists.count[l];
        const x = lists.features.subarray(l * lists.N * F, (l * lists.N + n) * F);
        net.forward(x, n, scores, hid);
        softmaxInPlace(scores, n);
        scores[lists.target[l]] -= 1; // dLoss/dscore = softmax - onehot
        const w = 1 / (s1 - s0);
        for (let i = 0; i < n; i++) {
          const ds = scores[i] * w;
          if (ds === 0) continue;
          gb2[0] += ds;
          for (let h = 0; h < H; h++) {
            const a = hid[i * H + h];
            g2[h] += ds * a;
            if (a <= 0) continue;
            const dz = ds * net.w2[h];
            gb1[h] += dz;
            for (let f = 0; f < F; f++) g1[f * H + h] += dz * x[i * F + f];
          }
        }
      }
      const lrT = adamLr(o.lr, ++step);
      for (const a of opt) a.step(lrT, ADAM_B1, ADAM_B2, ADAM_EPS);
    }
    const v = evaluateLists(net, lists, valLists);
    if (v.loss < best.loss) best = { loss: v.loss, epoch, snap: [net.w1, net.b1, net.w2, net.b2].map((a) => a.slice()) };
    else if (epoch - best.epoch >= o.patience) break;
  }
  if (best.snap.length) [net.w1, net.b1, net.w2, net.b2].forEach((a, i) => a.set(best.snap[i]));
  else {
    // Nothing to learn from (retrieval never found a target): keep retrieval order rather than
    // ship a random ranker.
    net.passThroughRetrievalScore();
    o.log('ranker: no training list contains its target; the ranker keeps retrieval order');
  }
  const v = evaluateLists(net, lists, valLists);
  const withTarget = valLists.filter((l) => lists.target[l] >= 0).length;
  o.log(
    `ranker: ${trainLists.length} training lists with a target, ${valLists.length} validation lists; ` +
      `recall@10 on validation lists ${v.recall.toFixed(4)} vs retrieval order ${v.retrievalRecall.toFixed(4)} (best epoch ${best.epoch})`,
  );
  return {
    net,
    validation: {
      'ranker_recall@10': v.recall,
      'ranker_retrieval_order_recall@10': v.retrievalRecall,
      ranker_validation_lists: valLists.length,
      ranker_candidate_recall: valLists.length ? withTarget / valLists.length : 0,
    },
  };
}

function evaluateLists(net: RankerNet, lists: RankerLists, which: number[]): { loss: number; recall: number; retrievalRecall: number } {
  const scores = new Float32Array(lists.N);
  let loss = 0;
  let withTarget = 0;
  let hits = 0;
  let retrievalHits = 0;
  for (const l of which) {
    const t = lists.target[l];
    if (t < 0) continue;
    const n = lists.count[l];
    net.forward(lists.features.subarray(l * lists.N * lists.F, (l * lists.N + n) * lists.F), n, scores);
    let above = 0;
    for (let i = 0; i < n; i++) if (scores[i] > scores[t]) above++;
    if (above < 10) hits++;
    if (t < 10) retrievalHits++;
    softmaxInPlace(scores, n);
    loss -= Math.log(Math.max(scores[t], 1e-30));
    withTarget++;
  }
  const nAll = Math.max(1, which.length);
  return { loss: withTarget ? loss / withTarget : 0, recall: hits / nAll, retrievalRecall: retrievalHits / nAll };
}

function softmaxInPlace(s: Float32Array, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (s[i] > max) max = s[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(s[i] - max);
    s[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) s[i] /= sum;
}
