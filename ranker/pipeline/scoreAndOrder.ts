/**
 * features → score → order, in this thread or in the version's scoring worker. Both give the
 * same answer (the worker runs the same functions); the worker takes the work off the main
 * thread, which under load is the one the HTTP work alone keeps busy. (Without the scoring
 * worker, the ranker itself runs in the version's model thread: models/workerModel.ts.)
 *
 * Scoring is the one part worth abandoning: it is the costliest under load and the only one whose
 * absence still leaves a sensible answer, the retrieval order. A late or failed scoring answers
 * in that order (the caller marks the response degraded).
 */
import { performance } from 'node:perf_hooks';
import { RANK_FEATURES } from '../../shared/rankFeatures.js';
import type { LoadedVersion } from '../../shared/store/types.js';
import type { ScoringWorker } from '../scoring/scoringWorkerClient.js';
import { LATE, remainingMs, withDeadline } from './deadline.js';
import { featuresStage } from './features.js';
import { orderStage, retrievalOrder } from './order.js';
import { scoreStage, type ScoreOutput } from './score.js';
import type { ServingContext } from './servingContext.js';
import { runStage, runSyncStage } from './timing.js';
import type { CandidateList, PipelineLogger, Ranked, StageTimings } from './types.js';

export interface ScoreAndOrderInput {
  version: LoadedVersion;
  context: ServingContext;
  log: PipelineLogger;
  candidates: CandidateList;
  sessionItems: Int32Array;
  k: number;
  explain: boolean;
  deadline: number | undefined;
  /** Coalesce in-thread ranker runs of one turn (only without a worker). */
  microBatch: boolean;
}

export async function scoreAndOrderInThread(inp: ScoreAndOrderInput, timings: StageTimings): Promise<Ranked> {
  const n = inp.candidates.items.length;
  const { features, computed } = runSyncStage(featuresStage, { version: inp.version, context: inp.context, candidates: inp.candidates, sessionItems: inp.sessionItems }, timings);
  let scored: ScoreOutput | typeof LATE = LATE;
  if (remainingMs(inp.deadline) > 0) {
    const score = inp.microBatch ? inp.context.scoreBatched : undefined;
    scored = await withDeadline(runStage(scoreStage, { model: inp.version.model, score, features, n, log: inp.log }, timings), inp.deadline);
  }
  const all = scored === LATE ? null : scored.scores;
  const order = runSyncStage(orderStage, { scores: all, n, k: inp.k }, timings);
  return {
    order,
    scores: all ? pick(all, order, 1) : null,
    features: inp.explain ? pick(computed, order, RANK_FEATURES.length) : null,
    late: scored === LATE,
    itemsJson: null,
  };
}

export async function scoreAndOrderInWorker(inp: ScoreAndOrderInput, worker: ScoringWorker, timings: StageTimings): Promise<Ranked> {
  const { items, scores } = inp.candidates;
  if (items.length === 0) return { order: new Int32Array(0), scores: new Float32Array(0), features: inp.explain ? new Float32Array(0) : null, late: false, itemsJson: null };
  if (remainingMs(inp.deadline) <= 0) return inRetrievalOrder(inp, timings, true);
  const t0 = performance.now();
  const job = { items, scores, session: inp.sessionItems, k: inp.k, explain: inp.explain };
  // A rejection (the worker or its ranker run failed) is answered like an in-thread failure.
  const result = await withDeadline(
    worker.score(job).catch((err: unknown) => {
      inp.log.warn({ err }, 'ranker failed; answering in retrieval order');
      return null;
    }),
    inp.deadline,
  );
  if (result === LATE) return inRetrievalOrder(inp, timings, true);
  if (result === null) return inRetrievalOrder(inp, timings, false);
  if (!result.ok) {
    inp.log.warn({ problem: result.problem }, 'ranker gave unusable scores; answering in retrieval order');
    return inRetrievalOrder(inp, timings, false);
  }
  // The worker timed its own features and order; the rest of the wait (the batch's ranker run,
  // the messages, the queue) is what scoring cost this request.
  timings.features = (timings.features ?? 0) + result.featuresMs;
  timings.order = (timings.order ?? 0) + result.orderMs;
  timings.score = (timings.score ?? 0) + Math.max(0, performance.now() - t0 - result.featuresMs - result.orderMs);
  return { order: result.positions, scores: result.scores, features: result.features, late: false, itemsJson: result.itemsJson };
}

/** The fallback answer; with explain, its features are computed here. */
function inRetrievalOrder(inp: ScoreAndOrderInput, timings: StageTimings, late: boolean): Ranked {
  const order = retrievalOrder(inp.candidates.items.length, inp.k);
  let features: Float32Array | null = null;
  if (inp.explain) {
    const { computed } = runSyncStage(featuresStage, { version: inp.version, context: inp.context, candidates: inp.candidates, sessionItems: inp.sessionItems }, timings);
    features = pick(computed, order, RANK_FEATURES.length);
  }
  return { order, scores: null, features, late, itemsJson: null };
}

/** Rows `order` of a row-major matrix `width` wide, in that order. */
function pick(m: Float32Array, order: Int32Array, width: number): Float32Array {
  const out = new Float32Array(order.length * width);
  for (let i = 0; i < order.length; i++) out.set(m.subarray(order[i] * width, (order[i] + 1) * width), i * width);
  return out;
}
