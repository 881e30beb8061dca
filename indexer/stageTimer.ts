/** Wall time per named stage, logged as each one ends; stages may overlap (each counts fully). */
import type { Logger } from '../shared/log.js';

export class StageTimer {
  readonly timings: Record<string, number> = {};
  /** Process CPU time during each stage (all threads; overlapping stages share it). */
  readonly cpu: Record<string, number> = {};
  readonly origin = performance.now();

  constructor(private readonly log: Logger) {}

  async stage<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    this.log.event('stage_start', { stage: name });
    const r = await fn();
    this.timings[name] = Math.round(performance.now() - t0);
    const c = process.cpuUsage(c0);
    this.cpu[name] = Math.round((c.user + c.system) / 1000);
    this.log.event('stage', { stage: name, ms: this.timings[name], cpuMs: this.cpu[name], rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20) });
    return r;
  }
}
