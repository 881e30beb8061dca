/**
 * End to end: `twotower index build` in a child process on a bench world, as an operator runs
 * it. Wall time of the whole command, per-stage times from its JSON log, and peak memory (the
 * child's maxRSS as recorded in the manifest; the process includes its worker threads).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface E2eRun {
  code: number | null;
  wallS: number;
  stagesMs: Record<string, number>;
  stagesCpuMs: Record<string, number>;
  peakRssMb: number;
  checksFailed: string[];
  lastLine: string;
}

export async function benchBuild(world: string, model: string, extra: string[] = []): Promise<E2eRun> {
  const store = mkdtempSync(path.join(os.tmpdir(), 'bench-store-'));
  try {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.resolve('bin/twotower.js'), 'index', 'build', '--data', world, '--model', model, '--store', store, '--json-log', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Keep only complete lines worth parsing; progress lines are dropped as they come.
      if (stderr.length > 1 << 20) stderr = stderr.split('\n').filter((l) => !l.includes('"event":"progress"')).join('\n');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const wallS = (performance.now() - t0) / 1000;
    const stagesMs: Record<string, number> = {};
    const stagesCpuMs: Record<string, number> = {};
    let peakRssMb = 0;
    let checksFailed: string[] = [];
    for (const line of stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      const ev = JSON.parse(line) as { event: string; stage?: string; ms?: number; cpuMs?: number; threadCpuMs?: number; rssMb?: number; peakRssMb?: number; failed?: string[] };
      if (ev.event === 'hnsw_built' && ev.threadCpuMs !== undefined) stagesCpuMs['hnsw_build (its thread)'] = ev.threadCpuMs;
      if (ev.event === 'user_topk_done' && ev.threadCpuMs !== undefined) stagesCpuMs['user_topk (query threads)'] = ev.threadCpuMs;
      if (ev.event === 'stage' && ev.stage && ev.ms !== undefined) {
        stagesMs[ev.stage] = ev.ms;
        stagesCpuMs[ev.stage] = ev.cpuMs ?? 0;
      }
      if (ev.event === 'published' && ev.peakRssMb) peakRssMb = ev.peakRssMb;
      if (ev.event === 'checks' && ev.failed) checksFailed = ev.failed;
      if (ev.rssMb) peakRssMb = Math.max(peakRssMb, ev.rssMb);
    }
    return { code, wallS, stagesMs, stagesCpuMs, peakRssMb, checksFailed, lastLine: stdout.trim().split('\n').pop() ?? '' };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}
