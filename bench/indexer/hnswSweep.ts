/**
 * A parameter sweep for the HNSW defaults (M, efConstruction, ef) on a bench world: build time,
 * per-user top-K users/s over two threads, and recall of the published (seen-filtered) lists
 * against exact search on a user sample. Not part of `npm run bench:indexer` (it takes long);
 * run: node dist/bench/indexer/hnswSweep.js SIZE "M:efC:ef[:shards],..." [queryUsers]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evenSample, overlapRecall } from '../../indexer/checks.js';
import { ExactTopK } from '../../indexer/exactTopK.js';
import { buildHnswFiles } from '../../indexer/hnswBuild.js';
import { queryHnswInWorkers } from '../../indexer/hnswQuery.js';
import { historyOf, type Histories } from '../../shared/data/histories.js';
import { unseenTopK } from '../../indexer/userTopK.js';
import { embedded } from './embeddings.js';
import { ensureModel, ensureWorld } from './prepare.js';

const size = Number(process.argv[2] ?? 100_000);
const configs = (process.argv[3] ?? '16:100:120').split(',').map((c) => c.split(':').map(Number));
const queryUsers = Number(process.argv[4] ?? 50_000);
const K = 100;

const e = await embedded(size, ensureWorld(size), ensureModel());
const { inputs, dim } = e;
const nItems = inputs.items.size;
// The first queryUsers users as their own small world: vectors and histories.
const q = Math.min(queryUsers, inputs.users.size);
const hist: Histories = { users: q, offsets: inputs.histories.offsets.subarray(0, q + 1), items: inputs.histories.items };
const sample = evenSample(q, 300);
const exact = await ExactTopK.create(e.items, nItems, dim, 2);
const sv = new Float32Array(sample.length * dim);
let maxSeen = 0;
sample.forEach((u, s) => {
  sv.set(e.users.subarray(u * dim, (u + 1) * dim), s * dim);
  maxSeen = Math.max(maxSeen, hist.offsets[u + 1] - hist.offsets[u]);
});
const truth = await exact.search(sv, sample.length, K + maxSeen);
const mark = new Uint8Array(nItems);
const truthLists = Array.from(sample, (u, s) => {
  const out = { items: new Int32Array(K), scores: new Float32Array(K) };
  const n = unseenTopK(truth.indices, truth.scores, s * truth.k, truth.k, historyOf(hist, u), mark, K, out, 0);
  return out.items.slice(0, n);
});
const dir = mkdtempSync(path.join(os.tmpdir(), 'hnsw-sweep-'));
let lastBuild = '';
let files: string[] = [];
let buildS = 0;
let buildCpuS = 0;
for (const [M, efC, ef, shardsArg] of configs) {
  const shards = shardsArg ?? 1;
  if (lastBuild !== `${M}:${efC}:${shards}`) {
    const t = performance.now();
    const built = await buildHnswFiles(e.items, nItems, dim, { M, efConstruction: efC, ef }, dir, shards);
    files = built.files;
    buildS = (performance.now() - t) / 1000;
    buildCpuS = built.cpuMs / 1000;
    lastBuild = `${M}:${efC}:${shards}`;
  }
  const lists = new Map<number, Int32Array>();
  const wanted = new Set(sample);
  const t = performance.now();
  const { cpuMs } = await queryHnswInWorkers({ files, dim, ef, k: K, itemCount: nItems, threads: 2 }, e.users.subarray(0, q * dim), hist, (c) => {
    for (let b = 0; b < c.count; b++) if (wanted.has(c.start + b)) lists.set(c.start + b, c.items.slice(b * K, b * K + c.lens[b]));
  });
  const qs = (performance.now() - t) / 1000;
  let rec = 0;
  sample.forEach((u, s) => (rec += overlapRecall(truthLists[s], lists.get(u) ?? new Int32Array(0))));
  console.log(
    `n=${nItems} shards=${shards} M=${M} efC=${efC} ef=${ef}: build ${buildS.toFixed(1)} s wall, ${buildCpuS.toFixed(1)} s CPU; ` +
      `query ${Math.round(q / qs)} users/s wall (2 threads), ${((1000 * cpuMs) / q).toFixed(1)} µs CPU per user (incl. index load); recall@${K} ${(rec / sample.length).toFixed(4)}; load ${os.loadavg()[0].toFixed(1)}`,
  );
}
await exact.close();
