/**
 * A quick look at the ranker over HTTP at one or a few fixed rates (the full benchmark takes
 * minutes): the server in a child process, the open-loop generator in another, server CPU per answered
 * request and latency per rate. Extra Node flags for the server child (a profile, heap sizes)
 * come after `--`.
 *
 *   tsc -p bench/tsconfig.json && node dist/bench/rankerLoad.js --dir /tmp/tt/bench-ranker \
 *     [--mode static|dynamic|empty] [--scoring worker|thread] [--rates 1000] [--duration 8] [--threads]
 *     [--warm-s 8] [--warm-rate 800] [--budget-ms 20] [--max-in-flight 64] [-- --cpu-prof --cpu-prof-dir=/tmp/p]
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_IN_FLIGHT } from '../ranker/app.js';
import { ensureBenchVersion } from './benchVersion.js';
import { rankBodies } from './rankBody.js';
import { startGeneratorProcess } from './generatorProcess.js';
import { percentile } from './openLoop.js';
import { BENCH_DIR, BENCH_PARAMS } from './params.js';

const all = process.argv.slice(2);
const dash = all.indexOf('--');
const argv = dash >= 0 ? all.slice(0, dash) : all;
const nodeFlags = dash >= 0 ? all.slice(dash + 1) : [];
const get = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const mode = get('mode') ?? 'static';
const rates = (get('rates') ?? '1000').split(',').map(Number);
const durationS = Number(get('duration') ?? 8);
const connections = Number(get('connections') ?? 128);

const here = path.dirname(fileURLToPath(import.meta.url));
const bench = await ensureBenchVersion(path.resolve(get('dir') ?? BENCH_DIR), BENCH_PARAMS, false);
const body = rankBodies(bench);

const script = mode === 'empty' ? path.join(here, 'emptyServer.js') : path.join(here, 'rankerServer.js');
const args = mode === 'empty' ? [] : [bench.store, mode, String(get('budget-ms') ?? 20), String(get('max-in-flight') ?? DEFAULT_MAX_IN_FLIGHT), 'nobatch', get('scoring') ?? 'worker'];
const child = fork(script, args, { execArgv: nodeFlags, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const base = await new Promise<string>((resolve, reject) => {
  child.once('message', (m: { url?: string }) => (m.url ? resolve(m.url) : reject(new Error('no url'))));
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const url = `${base}${mode === 'empty' ? '/v1/empty' : '/v1/rank'}`;
const cpuSeconds = (): number => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

/** CPU seconds per thread of the server (Linux /proc): native pools do not show in a JS profile. */
const threadCpu = (): Map<string, { name: string; s: number }> => {
  const out = new Map<string, { name: string; s: number }>();
  for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), s: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      // the thread ended
    }
  }
  return out;
};
const showThreads = argv.includes('--threads');

// Warm-up as in bench/ranker.ts: a fresh process compiles for its first ~10k requests.
const generator = startGeneratorProcess();
await generator.run({ url, rate: 300, durationS: 3, connections, body });
const warmS = Number(get('warm-s') ?? 8);
if (warmS > 0) await generator.run({ url, rate: Number(get('warm-rate') ?? 800), durationS: warmS, connections, body });
for (const rate of rates) {
  const cpu0 = cpuSeconds();
  const threads0 = showThreads ? threadCpu() : null;
  const r = await generator.run({ url, rate, durationS, connections, body, countContaining: '"degraded":true' });
  const cpuUs = ((cpuSeconds() - cpu0) * 1e6) / Math.max(1, r.completed);
  console.log(
    `${mode} rate ${rate}: ${r.rps.toFixed(0)} rps, p50 ${percentile(r.latencies, 50).toFixed(2)} ms, p99 ${percentile(r.latencies, 99).toFixed(2)} ms, ` +
      `errors ${r.errors}, non-2xx ${r.non2xx}, degraded ${r.contained}, server CPU ${cpuUs.toFixed(0)} us/req, generator lag max ${r.maxSendLagMs.toFixed(1)} ms`,
  );
  if (threads0) {
    const parts: string[] = [];
    for (const [tid, t] of threadCpu()) {
      const us = ((t.s - (threads0.get(tid)?.s ?? 0)) * 1e6) / Math.max(1, r.completed);
      if (us >= 1) parts.push(`${tid === String(child.pid) ? 'main' : `${t.name}:${tid}`} ${us.toFixed(0)}`);
    }
    console.log(`  per thread, us/req: ${parts.join(', ')}`);
  }
}
await generator.stop();
await new Promise<void>((resolve) => {
  child.once('exit', () => resolve());
  child.kill('SIGTERM');
});
