/**
 * The result of one evaluation run: every method (a view of the evaluated model or a baseline)
 * scored on the same users, with each user's value kept so that runs can be compared pairwise and
 * sliced by user activity.
 */
export const EVAL_KS = [10, 20, 50, 100] as const;

/** 'view': a way the evaluated model answers; 'baseline': what any model must beat. */
export type MethodKind = 'view' | 'baseline';

export interface ScoreHistogram {
  /** What the score is (cosine similarity, ranker logit, …). */
  label: string;
  min: number;
  max: number;
  /** Counts per equal-width bin of the top-K list entries that are held-out items / that are not. */
  hit: number[];
  miss: number[];
}

export interface ItemBuckets {
  /** Bucket names, head first. */
  labels: string[];
  /** Catalog items in each bucket. */
  items: number[];
}

export interface MethodResult {
  name: string;
  kind: MethodKind;
  /** Mean over evaluated users per `${metric}@${k}`. */
  means: Record<string, number>;
  /** The value of each evaluated user (in EvalRun.userIds order) per `${metric}@${k}`. */
  perUser: Record<string, Float64Array>;
  /** Catalog-level measures per `${measure}@${k}`: coverage, gini, novelty. */
  catalog: Record<string, number>;
  /** Recall@K of held-out items in each item-popularity bucket (pooled over users), per `recall@${k}`. */
  byItemPopularity: Record<string, number[]>;
  scores?: ScoreHistogram;
  /** Anything else worth a number, e.g. the ANN candidates' recall against exact search. */
  extra: Record<string, number>;
}

export interface EvalSource {
  kind: 'model' | 'version';
  /** The model version (model mode) or index version (store mode). */
  id: string;
  modelVersion: string;
  /** The folder evaluated. */
  path: string;
}

export interface EvalRun {
  source: EvalSource;
  protocol: { name: string; seed: number; params: Record<string, number> };
  ks: number[];
  /** Evaluated users, the order of every perUser array. */
  userIds: string[];
  /** Items each evaluated user has in its history (for activity buckets). */
  userActivity: Int32Array;
  items: number;
  itemBuckets: ItemBuckets;
  methods: MethodResult[];
  /** What could not be evaluated and why. */
  skipped: Record<string, number>;
  timingsMs: Record<string, number>;
  notes: string[];
}
