import { performance } from 'node:perf_hooks';
import type { Stage, StageTimings, SyncStage } from './types.js';

/** Runs one stage and adds its wall time to `timings` (added, because a stage may run twice). */
export async function runStage<I, O>(stage: Stage<I, O>, input: I, timings: StageTimings): Promise<O> {
  const t0 = performance.now();
  try {
    return await stage.run(input);
  } finally {
    timings[stage.name] = (timings[stage.name] ?? 0) + (performance.now() - t0);
  }
}

/**
 * runStage for a synchronous stage: the same timing, without the promise and the microtask turn
 * an async call costs (most stages are synchronous, and they run for every request).
 */
export function runSyncStage<I, O>(stage: SyncStage<I, O>, input: I, timings: StageTimings): O {
  const t0 = performance.now();
  try {
    return stage.run(input);
  } finally {
    timings[stage.name] = (timings[stage.name] ?? 0) + (performance.now() - t0);
  }
}
