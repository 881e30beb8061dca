/**
 * The ranker's request pipeline is a chain of small stages (Merlin-style operators), each with a
 * declared input and output type, so a stage can be swapped, tested or timed on its own.
 */
import type { RankFeatureName } from '../../shared/rankFeatures.js';
import type { LoadedVersion } from '../../shared/store/types.js';

export type StageName = 'resolve' | 'candidates' | 'filter' | 'features' | 'score' | 'order';

export type StageTimings = Partial<Record<StageName, number>>;

export interface Stage<I, O> {
  readonly name: StageName;
  run(input: I): O | Promise<O>;
}

/** A stage that finishes in the call: timed and run without a promise or a microtask turn. */
export interface SyncStage<I, O> extends Stage<I, O> {
  run(input: I): O;
}

/** Where the candidates of a response came from. */
export type CandidateSource = 'precomputed' | 'cold_start' | 'popular' | 'caller';

/** Why a response fell back to a worse answer (it still answers: degraded, never failed). */
export type DegradedReason = 'deadline' | 'ranker_failed' | 'retrieval_failed';

/** Enough of a logger for stages to report a fallback without depending on Fastify. */
export interface PipelineLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** A validated /v1/rank request, defaults applied. */
export interface RankRequest {
  userId: string;
  k: number;
  sessionItems: readonly string[];
  exclude: readonly string[];
  /** The caller's own candidates to re-rank, in the caller's order; absent means retrieve. */
  candidates?: readonly string[];
  /** Return each item's ranker features. */
  explain?: boolean;
  /**
   * performance.now() by which the answer must be ready; past it, scoring is abandoned and the
   * response keeps the retrieval order. Absent means no deadline.
   */
  deadline?: number;
  /** False sends every request through live retrieval (benchmarks the dynamic path). */
  usePrecomputed?: boolean;
}

/** A list of candidates of one version, best retrieval score first. */
export interface CandidateList {
  items: Int32Array;
  /** Retrieval score per candidate (two-tower similarity; 0 for popularity fallbacks). */
  scores: Float32Array;
}

export interface RankedItem {
  itemId: string;
  score: number;
  retrievalScore: number;
  /** With explain: the value of each ranker feature, by name. */
  features?: Record<RankFeatureName, number>;
}

export interface IgnoredIds {
  session: string[];
  exclude: string[];
  candidates?: string[];
}

export interface RankResult {
  userId: string;
  items: RankedItem[];
  source: CandidateSource;
  degraded: boolean;
  degradedReason?: DegradedReason;
  indexVersion: string;
  modelVersion: string;
  timingsMs: StageTimings;
  ignored?: IgnoredIds;
  /** `items` as JSON text, when the scoring worker wrote it (serializeRank.ts). */
  itemsJson?: string;
}

/** The filtered candidates after scoring: what the response lists, in its order. */
export interface Ranked {
  /** Positions into the filtered candidates, best first, at most k. */
  order: Int32Array;
  /** The ranker score of each ordered position; null when answering in retrieval order. */
  scores: Float32Array | null;
  /** With explain: order.length × RANK_FEATURES.length, row-major; else null. */
  features: Float32Array | null;
  /** Scoring did not finish before the deadline. */
  late: boolean;
  /** The answer's items as JSON text, when the scoring worker wrote it; else null. */
  itemsJson: string | null;
}

export interface PipelineContext {
  version: LoadedVersion;
  log: PipelineLogger;
  /** Coalesce ranker and user-tower runs of concurrent requests (see microBatch.ts). */
  microBatch?: boolean;
}
