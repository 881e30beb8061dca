/**
 * Scores all of a request's candidates in one ranker call. A failure here (a throw, a wrong
 * shape, a NaN) is reported as `scores: null` so the response can fall back to retrieval order
 * and say it is degraded, instead of failing the request.
 */
import type { TwoTowerModel } from '../../models/types.js';
import type { PipelineLogger, Stage } from './types.js';

export interface ScoreInput {
  model: TwoTowerModel;
  /** How to run the ranker; the model's own scoreRanker when absent (a batcher when present). */
  score?: (features: Float32Array, n: number) => Promise<Float32Array>;
  features: Float32Array;
  n: number;
  log: PipelineLogger;
}

export interface ScoreOutput {
  /** One score per candidate, or null when the ranker could not give usable scores. */
  scores: Float32Array | null;
}

export const scoreStage: Stage<ScoreInput, ScoreOutput> = {
  name: 'score',
  run: scoreCandidates,
};

export async function scoreCandidates({ model, score, features, n, log }: ScoreInput): Promise<ScoreOutput> {
  if (n === 0) return { scores: new Float32Array(0) };
  let scores: Float32Array;
  try {
    scores = await (score ? score(features, n) : model.scoreRanker(features, n));
  } catch (err) {
    log.warn({ err }, 'ranker failed; answering in retrieval order');
    return { scores: null };
  }
  const problem = checkScores(scores, n);
  if (problem) {
    log.warn({ problem }, 'ranker gave unusable scores; answering in retrieval order');
    return { scores: null };
  }
  return { scores };
}

/** Why the scores cannot be used, or null when they can. */
export function checkScores(scores: Float32Array, n: number): string | null {
  if (!(scores instanceof Float32Array) || scores.length < n) return `expected ${n} scores`;
  for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i])) return `score ${i} is not finite`;
  return null;
}
