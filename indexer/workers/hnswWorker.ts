/**
 * Worker thread for the HNSW stages: building an index over a range of the item matrix, and
 * answering per-user top-K queries for a range of users. Everything large is shared memory
 * (SharedArrayBuffer views), so starting a job copies nothing; results travel back in chunks.
 *
 * Imports nothing of the project at run time, so it bundles and starts fast.
 */
import hnswlib from 'hnswlib-node';
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { HnswBuildJob, HnswQueryJob, WorkerMessage } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('hnswWorker must run in a worker thread');
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const job = workerData as HnswBuildJob | HnswQueryJob;
try {
  if (job.kind === 'build') build(job);
  else query(job);
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
}

function build(j: HnswBuildJob): void {
  const vectors = new Float32Array(j.vectors);
  const n = j.to - j.from;
  const index = new hnswlib.HierarchicalNSW('ip', j.dim);
  index.initIndex(Math.max(n, 1), j.M, j.efConstruction, j.seed);
  // addPoint takes a plain array only; one reused array avoids an allocation per point.
  const point = new Array<number>(j.dim);
  const stop = j.stop ? new Int32Array(j.stop) : null;
  const stopped = () => stop !== null && Atomics.load(stop, 0) !== 0;
  for (let i = j.from; i < j.to; i++) {
    if (((i - j.from) & 63) === 0 && stopped()) {
      post({ type: 'error', message: 'HNSW build stopped: the build was aborted' });
      return;
    }
    const base = i * j.dim;
    for (let d = 0; d < j.dim; d++) point[d] = vectors[base + d];
    index.addPoint(point, i);
    if (((i - j.from) & 4095) === 4095) post({ type: 'progress', done: i - j.from + 1 });
  }
  if (stopped()) {
    post({ type: 'error', message: 'HNSW build stopped: the build was aborted' });
    return;
  }
  index.writeIndexSync(j.file);
  post({ type: 'done', count: index.getCurrentCount(), cpuMs: threadCpuMs() });
}

function query(j: HnswQueryJob): void {
  const users = new Float32Array(j.users);
  const offsets = new Int32Array(j.offsets);
  const seen = new Int32Array(j.seenItems);
  const credits = new Int32Array(j.credits);
  const shards = j.files.map((file) => {
    const index = new hnswlib.HierarchicalNSW('ip', j.dim);
    index.readIndexSync(file);
    index.setEf(j.ef);
    return index;
  });
  const mark = new Uint8Array(j.itemCount);
  const q = new Array<number>(j.dim);
  const k = j.k;
  for (let start = j.from; start < j.to; start += j.chunk) {
    const count = Math.min(j.chunk, j.to - start);
    const lens = new Int32Array(count);
    const items = new Int32Array(count * k);
    const scores = new Float32Array(count * k);
    for (let b = 0; b < count; b++) {
      const u = start + b;
      const s0 = offsets[u];
      const s1 = offsets[u + 1];
      for (let d = 0; d < j.dim; d++) q[d] = users[u * j.dim + d];
      // Over-fetch by the history length, then drop seen items: no callback into JS per node.
      const fetch = Math.min(j.itemCount, k + (s1 - s0));
      const res = searchShards(shards, q, fetch);
      for (let i = s0; i < s1; i++) mark[seen[i]] = 1;
      let n = 0;
      for (let i = 0; i < res.labels.length && n < k; i++) {
        const item = res.labels[i];
        if (mark[item]) continue;
        items[b * k + n] = item;
        scores[b * k + n++] = 1 - res.distances[i];
      }
      for (let i = s0; i < s1; i++) mark[seen[i]] = 0;
      lens[b] = n;
    }
    // Flow control: at most `credits` chunks in flight, so a slow writer bounds our memory.
    while (Atomics.sub(credits, j.slot, 1) <= 0) {
      Atomics.add(credits, j.slot, 1);
      Atomics.wait(credits, j.slot, Atomics.load(credits, j.slot), 1000);
    }
    post({ type: 'chunk', start, count, lens, items, scores }, [lens.buffer, items.buffer, scores.buffer]);
  }
  post({ type: 'done', count: j.to - j.from, cpuMs: threadCpuMs() });
}

/** k nearest over all shards, nearest first (each shard's list already is). */
function searchShards(shards: hnswlib.HierarchicalNSW[], q: number[], k: number): { labels: ArrayLike<number>; distances: ArrayLike<number> } {
  if (shards.length === 1) {
    const r = shards[0].searchKnn(q, Math.min(k, shards[0].getCurrentCount()));
    return { labels: r.neighbors, distances: r.distances };
  }
  const parts = shards.map((s) => s.searchKnn(q, Math.min(k, s.getCurrentCount())));
  const labels: number[] = [];
  const distances: number[] = [];
  const at = parts.map(() => 0);
  while (labels.length < k) {
    let best = -1;
    for (let p = 0; p < parts.length; p++) {
      if (at[p] < parts[p].distances.length && (best < 0 || parts[p].distances[at[p]] < parts[best].distances[at[best]])) best = p;
    }
    if (best < 0) break;
    labels.push(parts[best].neighbors[at[best]]);
    distances.push(parts[best].distances[at[best]++]);
  }
  return { labels, distances };
}

/**
 * CPU time of this thread so far (Linux: /proc/thread-self/stat, in clock ticks of 10 ms), or -1.
 * Wall time on a shared machine says little; CPU time is what a quiet machine would spend.
 */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return -1;
  }
}
