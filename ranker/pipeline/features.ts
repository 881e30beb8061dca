/**
 * Builds the ranker's input matrix with the same function training used (shared/rankFeatures),
 * then arranges its columns in the order the loaded model declares.
 */
import { computeRankFeatures, RANK_FEATURES } from '../../shared/rankFeatures.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import type { ServingContext } from './servingContext.js';
import type { CandidateList, SyncStage } from './types.js';

export interface FeaturesInput {
  version: LoadedVersion;
  context: ServingContext;
  candidates: CandidateList;
  /** Known session item indices, most recent last. */
  sessionItems: Int32Array;
}

export interface FeaturesOutput {
  /** n × model.rankerFeatures.length, row-major: what the model takes. */
  features: Float32Array;
  /** n × RANK_FEATURES.length, row-major: every computed feature, for explain. */
  computed: Float32Array;
  n: number;
}

export const featuresStage: SyncStage<FeaturesInput, FeaturesOutput> = {
  name: 'features',
  run: buildFeatures,
};

export function buildFeatures({ version, context, candidates, sessionItems }: FeaturesInput): FeaturesOutput {
  const n = candidates.items.length;
  const all = computeRankFeatures({
    candidates: candidates.items,
    retrievalScores: candidates.scores,
    sessionItems,
    embeddings: version.embeddings,
    dim: version.dim,
    popularity: version.popularity,
    logMaxPopularity: context.logMaxPopularity,
    itemCategory: version.itemCategory,
    popularityFeature: context.popularityFeature,
    sessionDots: context.sessionDots,
  });
  const cols = context.featureColumns;
  return { features: cols ? selectColumns(all, n, RANK_FEATURES.length, cols) : all, computed: all, n };
}

/** Copies columns `cols` of an n × width row-major matrix into a new n × cols.length one. */
export function selectColumns(m: Float32Array, n: number, width: number, cols: Int32Array): Float32Array {
  const w = cols.length;
  const out = new Float32Array(n * w);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < w; c++) out[r * w + c] = m[r * width + cols[c]];
  }
  return out;
}
