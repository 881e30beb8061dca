/**
 * HNSW build time on one thread against two shards built in parallel, and per-user top-K users/s
 * (exact in onnxruntime; HNSW over one index or over two shards, split across two threads) with
 * recall of the seen-filtered lists against exact search on a user sample.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evenSample, overlapRecall } from '../../indexer/checks.js';
import { ExactTopK } from '../../indexer/exactTopK.js';
import { buildHnswFiles, type HnswParams } from '../../indexer/hnswBuild.js';
import { queryHnswInWorkers } from '../../indexer/hnswQuery.js';
import { exactUserTopK } from '../../indexer/userTopK.js';
import type { Histories } from '../../shared/data/histories.js';
import type { Embedded } from './embeddings.js';
import { median } from './embedBench.js';
import { exactTruth } from './recallTruth.js';

export interface HnswBuildRow {
  shards: number;
  buildS: number;
  /** CPU seconds of the build threads together: what a quiet machine would spend. */
  cpuS: number;
}

export interface TopKRow {
  method: string;
  usersS: number;
  /** CPU µs per user (the query threads; for exact, the whole process). */
  cpuUsPerUser: number;
  recall: number;
}

export interface HnswBenchResult {
  builds: HnswBuildRow[];
  topk: TopKRow[];
}

export async function benchHnsw(e: Embedded, p: HnswParams, k: number, queryUsers: number, runs: number): Promise<HnswBenchResult> {
  const { inputs, dim } = e;
  const nItems = inputs.items.size;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-hnsw-'));
  try {
    const builds: HnswBuildRow[] = [];
    const files: Record<number, string[]> = {};
    for (const shards of [1, 2]) {
      const times: number[] = [];
      const cpu: number[] = [];
      for (let r = 0; r < runs; r++) {
        const sub = path.join(dir, `s${shards}`);
        const t0 = performance.now();
        const built = await buildHnswFiles(e.items, nItems, dim, p, mkdirp(sub), shards);
        files[shards] = built.files;
        times.push((performance.now() - t0) / 1000);
        cpu.push(built.cpuMs / 1000);
      }
      builds.push({ shards, buildS: round(median(times), 1), cpuS: round(median(cpu), 1) });
    }

    // A prefix of the users as the query set, with their own histories.
    const q = Math.min(queryUsers, inputs.users.size);
    const hist: Histories = { users: q, offsets: inputs.histories.offsets.subarray(0, q + 1), items: inputs.histories.items };
    const users = e.users.subarray(0, q * dim);
    const exact = await ExactTopK.create(e.items, nItems, dim, 2);
    const truth = await exactTruth(exact, users, hist, evenSample(q, 300), k);
    const recallOf = (lists: Map<number, Int32Array>) => {
      let sum = 0;
      truth.users.forEach((u, s) => (sum += overlapRecall(truth.lists[s], lists.get(u) ?? new Int32Array(0))));
      return round(sum / truth.users.length, 4);
    };
    const wanted = new Set(truth.users);
    const topk: TopKRow[] = [];
    // Exact over the whole catalog is slow at a million items: a smaller slice of users shows the rate.
    const exactUsers = Math.min(q, Math.max(2000, Math.floor(2e10 / (nItems * dim))));
    {
      const lists = new Map<number, Int32Array>();
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const exactHist: Histories = { users: exactUsers, offsets: hist.offsets.subarray(0, exactUsers + 1), items: hist.items };
      await exactUserTopK(exact, users.subarray(0, exactUsers * dim), exactHist, k, 1024, (c) => {
        for (let b = 0; b < c.count; b++) if (wanted.has(c.start + b)) lists.set(c.start + b, c.items.slice(b * k, b * k + c.lens[b]));
      });
      const c = process.cpuUsage(c0);
      topk.push({ method: `exact (ORT MatMul+TopK, ${exactUsers} users)`, usersS: Math.round(exactUsers / ((performance.now() - t0) / 1000)), cpuUsPerUser: Math.round((c.user + c.system) / exactUsers), recall: 1 });
    }
    for (const [label, shardFiles, threads] of [
      ['HNSW, 1 index, 1 thread', files[1], 1],
      ['HNSW, 1 index, 2 threads', files[1], 2],
      ['HNSW, 2 shards, 2 threads', files[2], 2],
    ] as [string, string[], number][]) {
      const rates: number[] = [];
      const cpus: number[] = [];
      let recall = 0;
      for (let r = 0; r < runs; r++) {
        const lists = new Map<number, Int32Array>();
        const t0 = performance.now();
        const { cpuMs } = await queryHnswInWorkers({ files: shardFiles, dim, ef: p.ef, k, itemCount: nItems, threads }, users, hist, (c) => {
          for (let b = 0; b < c.count; b++) if (wanted.has(c.start + b)) lists.set(c.start + b, c.items.slice(b * k, b * k + c.lens[b]));
        });
        rates.push(q / ((performance.now() - t0) / 1000));
        cpus.push((cpuMs * 1000) / q);
        recall = recallOf(lists);
      }
      topk.push({ method: `${label} (ef=${p.ef})`, usersS: Math.round(median(rates)), cpuUsPerUser: Math.round(median(cpus)), recall });
    }
    await exact.close();
    return { builds, topk };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mkdirp(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
