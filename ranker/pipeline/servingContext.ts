/**
 * Per-version constants the pipeline would otherwise recompute on every request. Computed on
 * first use and kept as long as the version object lives (a WeakMap, so a swapped-out version
 * takes its context with it).
 */
import { popularityFeatures, RANK_FEATURES } from '../../shared/rankFeatures.js';
import { TwoTowerError } from '../../shared/errors.js';
import { SessionDotKernel } from '../../shared/kernels/sessionDotKernel.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import type { UserQuery } from '../../models/types.js';
import { batchedRanker, batchedUserTower } from './microBatch.js';

/** Candidates scored per request when the version's manifest does not say (it normally does). */
const DEFAULT_POOL = 100;

export interface ServingContext {
  /** log1p of the largest popularity, as computeRankFeatures wants it. */
  logMaxPopularity: number;
  /** The log_popularity feature of every item, computed once here rather than per candidate. */
  popularityFeature: Float32Array;
  /**
   * For each ranker input column, the RANK_FEATURES column that feeds it; null when the model
   * takes exactly RANK_FEATURES in order (the common case, which then needs no copy).
   */
  featureColumns: Int32Array | null;
  /** How many candidates to score for a live retrieval: the same depth as the precomputed lists. */
  poolSize: number;
  /** The version's ranker with calls of one event-loop turn coalesced into one run. */
  scoreBatched: (features: Float32Array, n: number) => Promise<Float32Array>;
  /** The version's user tower for one user, coalesced likewise; returns dim values. */
  embedUserBatched: (query: UserQuery) => Promise<Float32Array>;
  /**
   * This thread's SIMD session kernel over the version's embeddings, for features computed here
   * (the scoring worker has its own); null when the embeddings are not in a WebAssembly memory.
   */
  sessionDots: SessionDotKernel | null;
}

const contexts = new WeakMap<LoadedVersion, ServingContext>();

export function servingContext(version: LoadedVersion): ServingContext {
  let ctx = contexts.get(version);
  if (!ctx) {
    ctx = buildServingContext(version);
    contexts.set(version, ctx);
  }
  return ctx;
}

function buildServingContext(version: LoadedVersion): ServingContext {
  let maxPop = 0;
  for (let i = 0; i < version.popularity.length; i++) if (version.popularity[i] > maxPop) maxPop = version.popularity[i];
  const topK = version.manifest.params.topK;
  const { model } = version;
  const ranker = batchedRanker((f, n) => model.scoreRanker(f, n), model.rankerFeatures.length);
  const logMaxPopularity = Math.log1p(maxPop);
  return {
    logMaxPopularity,
    popularityFeature: popularityFeatures(version.popularity, logMaxPopularity),
    featureColumns: featureColumnsFor(model.rankerFeatures),
    poolSize: Number.isInteger(topK) && topK > 0 ? topK : DEFAULT_POOL,
    scoreBatched: (features, n) => ranker({ features, n }),
    embedUserBatched: batchedUserTower((q) => model.embedUsers(q), version.dim),
    sessionDots: SessionDotKernel.over(version.embeddingMemory, version.dim, version.itemIds.length),
  };
}

/** Maps the model's ranker inputs onto the features this code computes; refuses unknown names. */
export function featureColumnsFor(modelFeatures: readonly string[]): Int32Array | null {
  const known: readonly string[] = RANK_FEATURES;
  const cols = new Int32Array(modelFeatures.length);
  let identity = modelFeatures.length === known.length;
  modelFeatures.forEach((name, i) => {
    const c = known.indexOf(name);
    if (c < 0) {
      throw new TwoTowerError(
        'MODEL_CONTRACT',
        `ranker feature '${name}' is not computed by this ranker (known: ${known.join(', ')})`,
      );
    }
    cols[i] = c;
    if (c !== i) identity = false;
  });
  return identity ? null : cols;
}
