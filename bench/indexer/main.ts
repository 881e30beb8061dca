/**
 * `npm run bench:indexer [-- --quick] [-- --runs N] [-- --embedding-only]`: the nightly indexer's numbers on this machine.
 *
 *  1. embedding rows/s through the pipeline against raw session.run on the same batches
 *  2. HNSW build time, one thread against two shards built in parallel
 *  3. per-user top-K users/s, exact and HNSW, with recall against exact search
 *  4. `twotower index build` end to end: wall time, stage times and peak memory
 *
 * at 100k items × 100k users and (without --quick) at 1M × 1M. Worlds, the dim-64 model and
 * embeddings are cached under .twotower/bench-indexer/ (the first run makes them: minutes).
 * Medians of --runs runs (default 3) where a run is cheap; one run at 1M.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../../indexer/defaults.js';
import { benchBuild, type E2eRun } from './e2eBench.js';
import { benchEmbedding, median, type EmbedBench } from './embedBench.js';
import { embedded } from './embeddings.js';
import { benchHnsw, type HnswBenchResult } from './hnswBench.js';
import { BENCH_DIR } from './paths.js';
import { ensureModel, ensureWorld } from './prepare.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const runsAt = argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : 3;
const sizes = quick ? [100_000] : [100_000, 1_000_000];
/** Only section 1 (minutes instead of most of an hour at 1M). */
const embeddingOnly = argv.includes('--embedding-only');
const batchesAt = argv.indexOf('--batches');
const batchSizes = batchesAt >= 0 ? argv[batchesAt + 1].split(',').map(Number) : [1024, 4096, 16384];
const hnswParams = { M: DEFAULTS.M, efConstruction: DEFAULTS.efConstruction, ef: DEFAULTS.ef };
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

const model = ensureModel();
const results: { size: number; embedding?: EmbedBench; hnsw?: HnswBenchResult; e2e: E2eRun[] }[] = [];
for (const size of sizes) {
  const world = ensureWorld(size);
  const e = await embedded(size, world, model);
  let embedding: EmbedBench | undefined;
  if (size === sizes[0]) {
    log(`embedding at ${size} (batch sizes, threads, ${runs} runs each)`);
    embedding = await benchEmbedding(e.inputs, model, batchSizes, [1, 2], runs);
  } else {
    // At 1M the build's batch size, with both thread counts: runs long enough to be steady.
    log(`embedding at ${size} (batch ${DEFAULTS.batchSize})`);
    embedding = await benchEmbedding(e.inputs, model, [DEFAULTS.batchSize], [1, 2], runs);
  }
  if (embeddingOnly) {
    results.push({ size, embedding, e2e: [] });
    continue;
  }
  log(`HNSW and top-K at ${size}`);
  const hnsw = await benchHnsw(e, hnswParams, DEFAULTS.topK, size >= 1_000_000 ? 100_000 : size, size >= 1_000_000 ? 1 : runs);
  log(`end to end at ${size}`);
  const e2e: E2eRun[] = [];
  // The 20k-trained model does not know the big worlds' users, so their lists crowd into a few
  // per cent of a million items; the coverage gate is lowered for this world, and says so.
  const extra = size >= 1_000_000 ? ['--min-coverage', '0.02'] : [];
  for (let r = 0; r < (size >= 1_000_000 ? 1 : runs); r++) e2e.push(await benchBuild(world, model, extra));
  results.push({ size, embedding, hnsw, e2e });
}

const out: string[] = [];
const table = (head: string[], rows: (string | number)[][]) => {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((x, c) => x.padEnd(w[c])).join(' | ')} |`;
  out.push(line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.slice(1).map(line), '');
};
const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
out.push(
  `# twotower indexer benchmark (${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; medians of ${runs} runs where cheap; load average at the end ${load})`,
  '',
  'CPU columns count every thread of the process: on a machine shared with other work they say what a quiet one would spend.',
  '',
);
for (const r of results) {
  const n = r.size >= 1_000_000 ? `${r.size / 1e6}M` : `${r.size / 1e3}k`;
  if (r.embedding) {
    const rows = r.embedding.rows;
    // The fastest raw rate of a tower and batch size, whatever its thread count: the bar the pipeline is held to.
    const bestRaw = (t: string, b: number) => Math.max(...rows.filter((x) => x.tower === t && x.batch === b).map((x) => x.rawRowsS));
    out.push(`## Embedding at ${n} items × ${n} users (dim 64): pipeline vs raw session.run on the same batches`, '');
    table(
      ['tower', 'batch', 'ORT threads', 'towers run on', 'pipeline rows/s', 'raw run rows/s', 'pipeline/raw', 'pipeline/best raw', 'pipeline CPU µs/row', 'raw CPU µs/row'],
      rows.map((x) => [
        x.tower,
        x.batch,
        x.threads,
        x.runsOn,
        x.pipelineRowsS,
        x.rawRowsS,
        `${Math.round((100 * x.pipelineRowsS) / x.rawRowsS)}%`,
        `${Math.round((100 * x.pipelineRowsS) / bestRaw(x.tower, x.batch))}%`,
        x.pipelineCpuUs,
        x.rawCpuUs,
      ]),
    );
    out.push(
      `Raw: the same tensors, encoded beforehand, through a session with that many onnxruntime threads. Best raw: the faster of 1 and 2 threads. The tower worker started in ${Object.entries(r.embedding.workerStartMs).map(([t, ms]) => `${ms} ms (${t} thread${t === '1' ? '' : 's'})`).join(', ')}, once per build. \`index build\` runs the item tower in the worker with 2 threads (it runs alone) and the user tower with 1 (it overlaps the HNSW build).`,
      '',
    );
  }
  if (!r.hnsw) continue;
  out.push(`## HNSW at ${n} (M=${hnswParams.M}, efConstruction=${hnswParams.efConstruction})`, '');
  table(
    ['build', 'wall s', 'CPU s'],
    r.hnsw.builds.map((b) => [b.shards === 1 ? '1 index, 1 thread' : `${b.shards} shards in parallel`, b.buildS, b.cpuS]),
  );
  table(['per-user top-100', 'users/s', 'CPU µs/user', 'recall@100 vs exact'], r.hnsw.topk.map((t) => [t.method, t.usersS, t.cpuUsPerUser, t.recall]));
  out.push(`## End to end at ${n}: twotower index build`, '');
  const stages = Object.keys(r.e2e[0]?.stagesMs ?? {});
  const threadRows = ['hnsw_build (its thread)', 'user_topk (query threads)'].filter((k) => r.e2e[0]?.stagesCpuMs[k] !== undefined);
  table(
    ['what', 'median'],
    [
      ['exit code', r.e2e.map((x) => x.code).join(', ')],
      ['wall seconds (whole command)', median(r.e2e.map((x) => x.wallS)).toFixed(1)],
      ['peak RSS MB', median(r.e2e.map((x) => x.peakRssMb))],
      ...stages.map((s) => [`${s}: wall s / process CPU s`, `${(median(r.e2e.map((x) => x.stagesMs[s] ?? 0)) / 1000).toFixed(1)} / ${(median(r.e2e.map((x) => x.stagesCpuMs[s] ?? 0)) / 1000).toFixed(1)}`]),
      ...threadRows.map((k) => [`${k}: CPU s`, (median(r.e2e.map((x) => x.stagesCpuMs[k] ?? 0)) / 1000).toFixed(1)]),
      ['failed checks', r.e2e.flatMap((x) => x.checksFailed).join(', ') || 'none'],
      ['last stdout line', r.e2e[r.e2e.length - 1]?.lastLine ?? ''],
    ],
  );
}
const text = out.join('\n');
console.log(text);
mkdirSync(BENCH_DIR, { recursive: true });
const name = `results-${quick ? 'quick' : 'full'}${embeddingOnly ? '-embedding' : ''}`;
writeFileSync(path.join(BENCH_DIR, `${name}.json`), JSON.stringify(results, null, 2));
writeFileSync(path.join(BENCH_DIR, `${name}.md`), text + '\n');
