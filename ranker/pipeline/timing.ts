import { performance } from 'node:perf_hooks';
import type { Stage, StageTimings } from './types.js';

/** Runs one stage and adds its wall time to `timings` (added, because a stage may run twice). */
export async function runStage<I, O>(stage: Stage<I, O>, input: I, timings: StageTimings): Promise<O> {
  const t0 = performance.now();
  try {
    return await stage.run(input);
  } finally {
    timings[stage.name] = (timings[stage.name] ?? 0) + (performance.now() - t0);
  }
}
