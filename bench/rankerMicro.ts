/**
 * The ranker's request path in one process, without a load generator: CPU per request of the
 * pipeline alone (rank()) and of the whole Fastify route (app.inject: validation, the pipeline,
 * response serialisation), over many realistic requests. On a shared machine CPU per request is
 * the figure least disturbed by neighbours; run it before and after a change, in one sitting.
 *
 *   tsc -p bench/tsconfig.json && node dist/bench/rankerMicro.js --dir /tmp/tt/bench-ranker \
 *     [--n 20000] [--mode static|dynamic] [--only pipeline|inject] [--concurrency 1]
 *
 * --concurrency C runs C requests at a time (as a loaded server does), which is where per-run
 * overheads such as onnxruntime's thread pool show.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildRankerApp } from '../ranker/app.js';
import { rank } from '../ranker/pipeline/rank.js';
import { VersionHolder } from '../ranker/versionHolder.js';
import { warmVersion } from '../ranker/warm.js';
import { loadVersion } from '../shared/store/loadVersion.js';
import { ensureBenchVersion } from './benchVersion.js';
import { rankRequests } from './rankBody.js';
import { BENCH_DIR, BENCH_PARAMS } from './params.js';

const argv = process.argv.slice(2);
const get = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const N = Number(get('n') ?? 20_000);
const mode = get('mode') ?? 'static';
const only = get('only');
const concurrency = Number(get('concurrency') ?? 1);
const usePrecomputed = mode !== 'dynamic';

const bench = await ensureBenchVersion(path.resolve(get('dir') ?? BENCH_DIR), BENCH_PARAMS, false);
const version = await loadVersion(bench.store);
await warmVersion(version);

// A fixed pseudo-random sequence, so before and after see the same requests.
let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const nextRequest = rankRequests(bench, rnd);
const bodies = Array.from({ length: Math.min(N, 5000) }, nextRequest);

const log = { warn() {} };

async function measure(label: string, one: (i: number) => Promise<unknown>): Promise<void> {
  // Warm the JIT and the pages first.
  for (let i = 0; i < Math.min(2000, N); i++) await one(i);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N) await one(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / N;
  console.log(
    `${label.padEnd(10)} ${mode} c=${concurrency}: ${N} requests, wall ${((wall * 1000) / N).toFixed(1)} us/req, ` +
      `CPU ${cpuUs.toFixed(1)} us/req (user ${(cpu.user / N).toFixed(1)}, sys ${(cpu.system / N).toFixed(1)})`,
  );
}

if (only !== 'inject') {
  await measure('pipeline', async (i) => {
    const b = bodies[i % bodies.length];
    const r = await rank({ version, log }, { userId: b.userId, k: b.k, sessionItems: b.session.items, exclude: [], usePrecomputed });
    if (r.degraded) throw new Error('degraded');
  });
}

if (only !== 'pipeline') {
  const { app } = buildRankerApp({ versions: new VersionHolder(version), logger: false, usePrecomputed, budgetMs: null, maxInFlight: 1e9 });
  await app.ready();
  const payloads = bodies.map((b) => JSON.stringify(b));
  await measure('inject', async (i) => {
    const res = await app.inject({ method: 'POST', url: '/v1/rank', headers: { 'content-type': 'application/json' }, payload: payloads[i % payloads.length] });
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${res.body}`);
  });
  const empty = (await import('fastify')).default({ logger: false });
  empty.post('/v1/empty', async () => ({ ok: true }));
  await empty.ready();
  await measure('inject-empty', async (i) => {
    const res = await empty.inject({ method: 'POST', url: '/v1/empty', headers: { 'content-type': 'application/json' }, payload: payloads[i % payloads.length] });
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  });
  await app.close();
  await empty.close();
}
await version.close();

// Per-thread CPU of this process (Linux): shows native pools (onnxruntime, lmdb, libuv) that a
// main-thread profile does not.
if (argv.includes('--threads')) {
  const fs = await import('node:fs');
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(f[11]) + Number(f[12])) / 100;
      if (cpu > 0.05) console.log(`thread ${tid} ${name}: ${cpu.toFixed(2)} s`);
    } catch {
      // the thread ended
    }
  }
}
