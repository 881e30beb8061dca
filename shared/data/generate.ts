/**
 * A seeded synthetic world with planted structure, so that tests and benchmarks can check
 * retrieval and ranking against a known truth instead of against hand-picked expectations.
 *
 * Planted structure:
 *  - categories have centroids in a latent space; an item's factor is its category centroid plus
 *    noise; its tags are the tag centroids nearest to its factor; num_price and num_quality are
 *    noisy functions of the factor; popularity is Zipf-like over a random order of the items;
 *  - a user's factor mixes one or two category centroids plus noise; cat_country is the country
 *    centroid nearest to the factor (with noise), num_activity follows the interaction count;
 *  - interactions: each next item is drawn with probability
 *        ∝ exp(BETA·u·v + GAMMA·prev·v) · popularity^ALPHA        (no item twice per user)
 *    where prev is the previous item of the same session, so consecutive items are similar and a
 *    session-aware ranker has something to exploit; sessions end at random (a long time gap).
 *  - ratings 1–5 grow with the affinity u·v; each user's last holdoutPerUser interactions by time
 *    form the holdout (split.ts).
 *
 * Sampling is sampling-importance-resampling rather than a softmax over the whole catalog: each
 * user gets a candidate pool drawn ∝ popularity^ALPHA (mostly from the user's categories, partly
 * from the whole catalog), and every draw adds a few candidates from the previous item's
 * category; the exp(…) weights then pick among those candidates. Popularity enters through the
 * proposal, affinity and session through the weights. That keeps a draw at O(pool · dim) and makes
 * 100k users × 100k items a matter of seconds.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { TwoTowerError } from '../errors.js';
import { AliasTable } from './alias.js';
import { Random } from './random.js';
import { splitHoldout } from './split.js';
import type { InteractionRow, ItemRow, UserRow } from './types.js';
import { writeInteractions, writeItems, writeUsers } from './writers.js';

export interface GenerateOptions {
  items: number;
  users: number;
  seed: number;
  /** Number of categories (default min(items, 20)). */
  categories?: number;
  /** Dimension of the planted latent space (default 16). */
  latentDim?: number;
  /** Mean interactions per user, holdout included (default 40; each user gets at least min(8, mean)). */
  interactionsPerUser?: number;
  /** Latest interactions per user moved to the holdout (default 3). */
  holdoutPerUser?: number;
}

export interface WorldTruth {
  dim: number;
  /** users × dim, row-major, in the order of World.users. */
  userFactors: Float32Array;
  /** items × dim, row-major, in the order of World.items. */
  itemFactors: Float32Array;
}

export interface World {
  items: ItemRow[];
  users: UserRow[];
  /** Training interactions, grouped by user, each user's in time order. */
  interactions: InteractionRow[];
  holdout: InteractionRow[];
  truth: WorldTruth;
}

/** Knobs of the planted structure: strong enough to learn, noisy enough not to be trivial. */
const ITEM_NOISE = 0.6; // item factor spread around its centroid, relative to a centroid's norm
const USER_NOISE = 0.35;
const BETA = 4; // weight of user affinity u·v
const GAMMA = 3; // weight of session similarity prev·v
const ALPHA = 0.9; // popularity exponent (Zipf over a random order of the items)
const SESSION_BREAK = 0.2; // chance that an interaction starts a new session
const GLOBAL_SHARE = 0.35; // part of a user's pool drawn from the whole catalog, not their categories
const SESSION_EXTRAS = 8; // candidates added per draw from the previous item's category
const MIN_POOL = 48;
const POOL_SLACK = 32; // pool = count + slack: the last draw of a user still has a choice
const TWO_CATEGORY_SHARE = 0.5;
const START_TIME = 1_672_531_200; // 2023-01-01T00:00:00Z
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'BR', 'IN', 'JP', 'CA'];
const AGE_BANDS = ['18-24', '25-34', '35-44', '45-54', '55+'];
const AGE_WEIGHTS = [0.14, 0.3, 0.25, 0.17, 0.14];

export function generateWorld(opts: GenerateOptions): World {
  const o = checkOptions(opts);
  const rng = new Random(o.seed);
  const d = o.latentDim;

  const centroids = gaussianMatrix(rng.fork(1), o.categories, d, 1);
  const catWeights = Array.from({ length: o.categories }, () => 0);
  const catRng = rng.fork(2);
  for (let c = 0; c < o.categories; c++) catWeights[c] = Math.exp(0.5 * catRng.normal());

  const items = makeItems(rng.fork(3), o, centroids, catWeights);
  const users = makeUsers(rng.fork(4), o, centroids, catWeights);
  const all = makeInteractions(rng, o, items, users);
  const { train, holdout } = splitHoldout(all, { perUser: o.holdoutPerUser, minTrain: 1 });
  return {
    items: items.rows,
    users: users.rows,
    interactions: train,
    holdout,
    truth: { dim: d, userFactors: users.factors, itemFactors: items.factors },
  };
}

/** Writes items.arrow, users.arrow, interactions.arrow and holdout.arrow into dir. */
export async function writeWorld(dir: string, world: World): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await writeItems(path.join(dir, 'items.arrow'), world.items);
  await writeUsers(path.join(dir, 'users.arrow'), world.users);
  await writeInteractions(path.join(dir, 'interactions.arrow'), world.interactions);
  await writeInteractions(path.join(dir, 'holdout.arrow'), world.holdout);
}

type Options = Required<GenerateOptions>;

function checkOptions(opts: GenerateOptions): Options {
  const o: Options = {
    items: opts.items,
    users: opts.users,
    seed: opts.seed,
    categories: opts.categories ?? Math.min(opts.items, 20),
    latentDim: opts.latentDim ?? 16,
    interactionsPerUser: opts.interactionsPerUser ?? 40,
    holdoutPerUser: opts.holdoutPerUser ?? 3,
  };
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new TwoTowerError('BAD_INPUT', `generateWorld: ${what}`, { ...opts });
  };
  need(Number.isInteger(o.items) && o.items >= 1, `items must be a positive integer, got ${o.items}`);
  need(Number.isInteger(o.users) && o.users >= 0, `users must be a non-negative integer, got ${o.users}`);
  need(Number.isInteger(o.seed), `seed must be an integer, got ${o.seed}`);
  need(Number.isInteger(o.categories) && o.categories >= 1 && o.categories <= o.items, `categories must be an integer in [1, items], got ${o.categories}`);
  need(Number.isInteger(o.latentDim) && o.latentDim >= 1, `latentDim must be a positive integer, got ${o.latentDim}`);
  need(o.interactionsPerUser >= 1, `interactionsPerUser must be at least 1, got ${o.interactionsPerUser}`);
  need(Number.isInteger(o.holdoutPerUser) && o.holdoutPerUser >= 0, `holdoutPerUser must be a non-negative integer, got ${o.holdoutPerUser}`);
  return o;
}

/** rows × dim with N(0, scale²/dim) entries: vectors of norm ≈ scale whatever the dimension. */
function gaussianMatrix(rng: Random, rows: number, dim: number, scale: number): Float32Array {
  const m = new Float32Array(rows * dim);
  const s = scale / Math.sqrt(dim);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal() * s;
  return m;
}

/** Four accumulators: about 1.6× faster than the plain loop in V8, and this is the hot path. */
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < d; k += 4) {
    s0 += a[ao + k] * b[bo + k];
    s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2];
    s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < d; k++) s0 += a[ao + k] * b[bo + k];
  return s0 + s1 + s2 + s3;
}

/**
 * exp(-x) for x ≥ 0 from a table with steps of 1/64 (relative error under 1%, far below the noise
 * of a synthetic world). Math.exp was the single most expensive line of the generator.
 */
const EXP_STEPS = 64;
const EXP_RANGE = 40; // exp(-40) ≈ 4e-18: nothing beyond it can ever be drawn
const EXP_TABLE = Float64Array.from({ length: EXP_RANGE * EXP_STEPS + 1 }, (_, i) => Math.exp(-i / EXP_STEPS));

function expNeg(x: number): number {
  // x ≥ 0, so truncating x·steps + 0.5 rounds; `| 0` is much cheaper than Math.round here.
  return x < EXP_RANGE ? EXP_TABLE[(x * EXP_STEPS + 0.5) | 0] : 0;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function pad(i: number, n: number): string {
  return String(i).padStart(Math.max(2, String(n - 1).length), '0');
}

interface Items {
  rows: ItemRow[];
  factors: Float32Array;
  category: Int32Array;
  /** popularity^ALPHA, the proposal weight of each item. */
  weight: Float64Array;
}

function makeItems(rng: Random, o: Options, centroids: Float32Array, catWeights: number[]): Items {
  const d = o.latentDim;
  const n = o.items;
  const catAlias = new AliasTable(catWeights);
  const category = new Int32Array(n);
  // Every category gets at least one item; the rest follow the category weights.
  for (let i = 0; i < n; i++) category[i] = i < o.categories ? i : catAlias.sample(rng);

  const factors = new Float32Array(n * d);
  const noise = ITEM_NOISE / Math.sqrt(d);
  for (let i = 0; i < n; i++) {
    const c = category[i];
    for (let k = 0; k < d; k++) factors[i * d + k] = centroids[c * d + k] + rng.normal() * noise;
  }

  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const weight = new Float64Array(n);
  order.forEach((item, rank) => (weight[item] = Math.pow(rank + 1, -ALPHA)));

  const tagCount = Math.max(8, 3 * o.categories);
  const tagCentroids = gaussianMatrix(rng, tagCount, d, 1);
  const tagNames = Array.from({ length: tagCount }, (_, t) => `tag_${pad(t, tagCount)}`);
  const wPrice = gaussianMatrix(rng, 1, d, 1);
  const wQuality = gaussianMatrix(rng, 1, d, 1);
  const tagScores = new Float64Array(tagCount);

  const rows = new Array<ItemRow>(n);
  for (let i = 0; i < n; i++) {
    const off = i * d;
    for (let t = 0; t < tagCount; t++) tagScores[t] = dot(factors, off, tagCentroids, t * d, d);
    const m = 1 + rng.int(4);
    const tags: string[] = [];
    for (let j = 0; j < m && j < tagCount; j++) {
      let best = -1;
      for (let t = 0; t < tagCount; t++) if (best < 0 || tagScores[t] > tagScores[best]) best = t;
      tags.push(tagNames[best]);
      tagScores[best] = -Infinity;
    }
    const price = Math.exp(3 + 0.5 * dot(factors, off, wPrice, 0, d) + 0.25 * rng.normal());
    const quality = sigmoid(1.5 * dot(factors, off, wQuality, 0, d) + 0.5 * rng.normal());
    rows[i] = {
      itemId: `i${i}`,
      category: `cat_${pad(category[i], o.categories)}`,
      tags,
      numeric: { num_price: Math.round(price * 100) / 100, num_quality: Math.round(quality * 1000) / 1000 },
    };
  }
  return { rows, factors, category, weight };
}

interface Users {
  rows: UserRow[];
  factors: Float32Array;
  /** One or two categories per user and the weight of the first. */
  catA: Int32Array;
  catB: Int32Array;
  mixA: Float64Array;
  count: Int32Array;
}

function makeUsers(rng: Random, o: Options, centroids: Float32Array, catWeights: number[]): Users {
  const d = o.latentDim;
  const n = o.users;
  const catAlias = new AliasTable(catWeights);
  const factors = new Float32Array(n * d);
  const catA = new Int32Array(n);
  const catB = new Int32Array(n);
  const mixA = new Float64Array(n);
  const count = new Int32Array(n);
  const countries = gaussianMatrix(rng, COUNTRIES.length, d, 1);
  const noise = USER_NOISE / Math.sqrt(d);
  const mean = o.interactionsPerUser;
  const minCount = Math.min(8, mean);
  // A user never takes more than 80% of the catalog, so sampling without repeats stays possible.
  const maxCount = Math.max(1, Math.min(Math.floor(0.8 * o.items), Math.ceil(8 * mean)));

  const rows = new Array<UserRow>(n);
  for (let u = 0; u < n; u++) {
    const a = catAlias.sample(rng);
    let b = a;
    if (o.categories > 1 && rng.uniform() < TWO_CATEGORY_SHARE) while (b === a) b = catAlias.sample(rng);
    const w = a === b ? 1 : 0.5 + 0.3 * rng.uniform();
    catA[u] = a;
    catB[u] = b;
    mixA[u] = w;
    const off = u * d;
    for (let k = 0; k < d; k++) factors[off + k] = w * centroids[a * d + k] + (1 - w) * centroids[b * d + k] + rng.normal() * noise;

    const c = Math.min(maxCount, Math.max(1, Math.round(minCount + rng.exponential(mean - minCount))));
    count[u] = c;
    let country = 0;
    let bestScore = -Infinity;
    for (let k = 0; k < COUNTRIES.length; k++) {
      const s = dot(factors, off, countries, k * d, d) + 0.35 * rng.normal();
      if (s > bestScore) {
        bestScore = s;
        country = k;
      }
    }
    rows[u] = {
      userId: `u${u}`,
      categorical: { cat_country: COUNTRIES[country], cat_age_band: AGE_BANDS[rng.weightedIndex(AGE_WEIGHTS)] },
      numeric: { num_activity: Math.round((c / mean) * Math.exp(0.2 * rng.normal()) * 1000) / 1000 },
    };
  }
  return { rows, factors, catA, catB, mixA, count };
}

function makeInteractions(root: Random, o: Options, items: Items, users: Users): InteractionRow[] {
  const sampler = new SessionSampler(o, items, users);
  const out: InteractionRow[] = [];
  for (let u = 0; u < o.users; u++) {
    // One stream per user: a user's interactions do not depend on how many draws others took.
    sampler.drawUser(u, root.fork(1_000_000 + u), out);
  }
  return out;
}

/**
 * The interaction sampler. State lives in preallocated typed arrays reused for every user, and
 * the hot loops are methods without closures: V8 keeps captured variables in heap contexts,
 * which made the first version of this loop twice as slow.
 */
class SessionSampler {
  private readonly d: number;
  private readonly nItems: number;
  private readonly F: Float32Array;
  private readonly U: Float32Array;
  private readonly globalAlias: AliasTable;
  private readonly byCategory: Int32Array[] = [];
  private readonly catAlias: AliasTable[] = [];
  /** Stamps (user index + 1) instead of per-user sets: no allocation per user. */
  private readonly inPool: Int32Array;
  private readonly used: Int32Array;
  /** The pool: item ids, BETA·u·v, and a contiguous copy of the factors (cache-friendly scans). */
  private readonly poolItems: Int32Array;
  private readonly poolBase: Float64Array;
  private readonly poolF: Float32Array;
  private poolN = 0;
  private readonly candItems: Int32Array;
  private readonly candScore: Float64Array;
  /** Pool slot of a candidate, or -1 for a session extra. */
  private readonly candSlot: Int32Array;
  private readonly prevF: Float32Array;

  constructor(
    o: Options,
    private readonly items: Items,
    private readonly users: Users,
  ) {
    this.d = o.latentDim;
    this.nItems = o.items;
    this.F = items.factors;
    this.U = users.factors;
    this.globalAlias = new AliasTable(items.weight);
    const members: number[][] = Array.from({ length: o.categories }, () => []);
    for (let i = 0; i < this.nItems; i++) members[items.category[i]].push(i);
    for (const m of members) {
      this.byCategory.push(Int32Array.from(m));
      this.catAlias.push(new AliasTable(m.map((i) => items.weight[i])));
    }
    this.inPool = new Int32Array(this.nItems);
    this.used = new Int32Array(this.nItems);
    let maxPool = 0;
    for (let u = 0; u < o.users; u++) maxPool = Math.max(maxPool, this.poolSize(users.count[u]));
    this.poolItems = new Int32Array(maxPool);
    this.poolBase = new Float64Array(maxPool);
    this.poolF = new Float32Array(maxPool * this.d);
    this.candItems = new Int32Array(maxPool + SESSION_EXTRAS);
    this.candScore = new Float64Array(maxPool + SESSION_EXTRAS);
    this.candSlot = new Int32Array(maxPool + SESSION_EXTRAS);
    this.prevF = new Float32Array(this.d);
  }

  /** Grows with the user's count so that the last draw still has a choice; on a small catalog the
   * whole catalog is the pool. */
  private poolSize(n: number): number {
    const size = Math.min(this.nItems, Math.max(MIN_POOL, n + POOL_SLACK));
    return size * 1.5 >= this.nItems ? this.nItems : size;
  }

  private addToPool(item: number, stamp: number, uo: number): void {
    const d = this.d;
    const j = this.poolN++;
    this.inPool[item] = stamp;
    this.poolItems[j] = item;
    this.poolBase[j] = BETA * dot(this.U, uo, this.F, item * d, d);
    this.poolF.set(this.F.subarray(item * d, item * d + d), j * d);
  }

  private removeFromPool(j: number): void {
    const d = this.d;
    const last = --this.poolN;
    if (j === last) return;
    this.poolItems[j] = this.poolItems[last];
    this.poolBase[j] = this.poolBase[last];
    this.poolF.copyWithin(j * d, last * d, last * d + d);
  }

  /** Candidate pool ∝ popularity, mostly from the user's categories. */
  private buildPool(u: number, n: number, rng: Random): void {
    const stamp = u + 1;
    const uo = u * this.d;
    const target = this.poolSize(n);
    this.poolN = 0;
    if (target === this.nItems) {
      for (let i = 0; i < this.nItems; i++) this.addToPool(i, stamp, uo);
      return;
    }
    const { catA, catB, mixA } = this.users;
    for (let tries = 0; this.poolN < target && tries < 30 * target; tries++) {
      let item: number;
      if (rng.uniform() < GLOBAL_SHARE) item = this.globalAlias.sample(rng);
      else {
        const c = rng.uniform() < mixA[u] ? catA[u] : catB[u];
        item = this.byCategory[c][this.catAlias[c].sample(rng)];
      }
      if (this.inPool[item] !== stamp) this.addToPool(item, stamp, uo);
    }
    // Heavy-tailed popularity can starve rejection sampling: top up uniformly.
    while (this.poolN < target) {
      const item = rng.int(this.nItems);
      if (this.inPool[item] !== stamp) this.addToPool(item, stamp, uo);
    }
  }

  drawUser(u: number, rng: Random, out: InteractionRow[]): void {
    const d = this.d;
    const n = this.users.count[u];
    const stamp = u + 1;
    const uo = u * d;
    const { F, U, poolBase, poolF, poolItems, candItems, candScore, candSlot, prevF, inPool, used } = this;
    const userId = this.users.rows[u].userId;
    this.buildPool(u, n, rng);

    let time = START_TIME + rng.int(200 * 86400);
    let prev = -1;
    for (let t = 0; t < n; t++) {
      const newSession = t === 0 || rng.uniform() < SESSION_BREAK;
      if (newSession) prev = -1;
      if (t > 0) time += newSession ? Math.round(3600 * (2 + rng.exponential(40))) : 15 + Math.round(rng.exponential(150));

      // Candidates: the remaining pool, plus (within a session) a few from prev's category.
      let m = 0;
      let best = -Infinity;
      const poolN = this.poolN;
      if (prev < 0) {
        for (let j = 0; j < poolN; j++) {
          const s = poolBase[j];
          candItems[m] = poolItems[j];
          candScore[m] = s;
          candSlot[m++] = j;
          if (s > best) best = s;
        }
      } else {
        // The hot loop (~80 candidates per draw): the dot product is written out because V8 does
        // not reliably inline dot() here.
        for (let j = 0, o = 0; j < poolN; j++) {
          let s0 = 0;
          let s1 = 0;
          let k = 0;
          for (; k + 1 < d; k += 2, o += 2) {
            s0 += prevF[k] * poolF[o];
            s1 += prevF[k + 1] * poolF[o + 1];
          }
          if (k < d) s0 += prevF[k] * poolF[o++];
          const s = poolBase[j] + GAMMA * (s0 + s1);
          candItems[m] = poolItems[j];
          candScore[m] = s;
          candSlot[m++] = j;
          if (s > best) best = s;
        }
        const c = this.items.category[prev];
        const members = this.byCategory[c];
        const alias = this.catAlias[c];
        for (let e = 0; e < SESSION_EXTRAS; e++) {
          const item = members[alias.sample(rng)];
          if (inPool[item] === stamp || used[item] === stamp) continue;
          let su = 0;
          let sp = 0;
          for (let k = 0, io = item * d; k < d; k++, io++) {
            su += U[uo + k] * F[io];
            sp += prevF[k] * F[io];
          }
          const s = BETA * su + GAMMA * sp;
          candItems[m] = item;
          candScore[m] = s;
          candSlot[m++] = -1;
          if (s > best) best = s;
        }
      }
      if (m === 0) break;
      let total = 0;
      for (let j = 0; j < m; j++) {
        const w = expNeg(best - candScore[j]);
        candScore[j] = w;
        total += w;
      }
      let x = rng.uniform() * total;
      let pick = m - 1;
      for (let j = 0; j < m; j++) {
        x -= candScore[j];
        if (x < 0) {
          pick = j;
          break;
        }
      }
      const item = candItems[pick];
      if (candSlot[pick] >= 0) this.removeFromPool(candSlot[pick]);
      used[item] = stamp;

      const affinity = dot(U, uo, F, item * d, d);
      const rating = Math.min(5, Math.max(1, Math.round(1 + 4 * sigmoid(2.5 * (affinity - 0.5) + 0.8 * rng.normal()))));
      out.push({ userId, itemId: this.items.rows[item].itemId, timestamp: time, rating });
      prev = item;
      prevF.set(F.subarray(item * d, item * d + d));
    }
  }
}
