/** Wall time per named stage, logged as each one ends; stages may overlap (each counts fully). */
import type { Logger } from '../shared/log.js';

export class StageTimer {
  readonly timings: Record<string, number> = {};
  readonly origin = performance.now();

  constructor(private readonly log: Logger) {}

  async stage<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    this.log.event('stage_start', { stage: name });
    const r = await fn();
    this.timings[name] = Math.round(performance.now() - t0);
    this.log.event('stage', { stage: name, ms: this.timings[name], rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20) });
    return r;
  }
}
