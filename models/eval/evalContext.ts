/**
 * What every method of one run is scored with: the users' held-out items and exclusions as item
 * indices, training popularity, self-information and item buckets, and a helper that scores
 * method lists into a finished run.
 */
import { selfInformation } from './catalogMetrics.js';
import { EVAL_KS, type EvalRun, type EvalSource, type MethodResult } from './evalTypes.js';
import { itemPopularityBuckets } from './itemBuckets.js';
import { scoreLists, type MethodLists, type ScoringContext } from './scoreLists.js';

export interface EvalUsers {
  ids: string[];
  relevant: Set<number>[];
  exclude: Set<number>[];
  /** Session item indices, oldest first. */
  sessions: Int32Array[];
  activity: Int32Array;
}

export interface EvalContext {
  users: EvalUsers;
  nItems: number;
  popularity: Float32Array;
  scoring: ScoringContext;
  buckets: EvalRun['itemBuckets'];
}

export function makeEvalContext(users: EvalUsers, popularity: Float32Array, trainUsers: number, ks: readonly number[] = EVAL_KS): EvalContext {
  const { buckets, bucketOf } = itemPopularityBuckets(popularity);
  return {
    users,
    nItems: popularity.length,
    popularity,
    buckets,
    scoring: {
      ks,
      relevant: users.relevant,
      nItems: popularity.length,
      info: selfInformation(popularity, trainUsers),
      bucketOf,
      buckets: buckets.labels.length,
    },
  };
}

export function scoreMethods(ctx: EvalContext, methods: MethodLists[]): MethodResult[] {
  return methods.map((m) => scoreLists(ctx.scoring, m));
}

export function finishRun(
  ctx: EvalContext,
  source: EvalSource,
  protocol: EvalRun['protocol'],
  methods: MethodResult[],
  skipped: Record<string, number>,
  timingsMs: Record<string, number>,
  notes: string[],
): EvalRun {
  return {
    source,
    protocol,
    ks: [...ctx.scoring.ks],
    userIds: ctx.users.ids,
    userActivity: ctx.users.activity,
    items: ctx.nItems,
    itemBuckets: ctx.buckets,
    methods,
    skipped,
    timingsMs,
    notes,
  };
}

/** Wall-clock laps for a run's timings. */
export function lapTimer(): { lap: (name: string) => void; timings: Record<string, number> } {
  const timings: Record<string, number> = {};
  let t = performance.now();
  return {
    timings,
    lap(name) {
      const now = performance.now();
      timings[name] = (timings[name] ?? 0) + Math.round(now - t);
      t = now;
    },
  };
}
