/**
 * What the main thread and the scoring worker say to each other. The requests of one event-loop
 * turn travel as one message of two flat typed arrays (transferred, not cloned), because a
 * message per request, or an object per candidate, costs the main thread more than the work it
 * moves off it.
 */
import { RANK_FEATURES } from '../../shared/rankFeatures.js';

/** One request's share of a batch: rank these candidates for this session, keep k. */
export interface ScoreJob {
  /** Candidate item indices, in retrieval order. */
  items: Int32Array;
  /** Retrieval score per candidate. */
  scores: Float32Array;
  /** Known session item indices, most recent last. */
  session: Int32Array;
  k: number;
  /** Also return every computed feature of the kept candidates. */
  explain: boolean;
}

export type JobResult =
  | {
      ok: true;
      /** Positions into the job's candidates of the min(k, n) best by ranker score, best first. */
      positions: Int32Array;
      /** The ranker score of each kept position. */
      scores: Float32Array;
      /** With explain: positions.length × RANK_FEATURES.length, row-major; else null. */
      features: Float32Array | null;
      /**
       * Without explain: the answer's items as JSON text, written here so that the main thread,
       * the busier one, does not format their numbers (serializeRank.ts); null with explain.
       */
      itemsJson: string | null;
      featuresMs: number;
      orderMs: number;
    }
  | { ok: false; problem: string };

/** The tables a worker scores one version with; the big ones are views of shared memory. */
export interface ScoringTables {
  embeddings: Float32Array;
  /** The WebAssembly memory `embeddings` starts, for the worker's own SIMD session kernel; null when they are not in one. */
  embeddingMemory: WebAssembly.Memory | null;
  dim: number;
  popularity: Float32Array;
  popularityFeature: Float32Array;
  logMaxPopularity: number;
  itemCategory: Int32Array;
  /** The model's ranker columns as RANK_FEATURES columns; null when they are the same. */
  featureColumns: Int32Array | null;
  /** Item id of each item index (copied into the worker once, to write answers' items). */
  itemIds: readonly string[];
}

export interface ScoringWorkerData {
  tables: ScoringTables;
  modelDir: string;
  /** sha256 of each model file as the main thread read it; the worker refuses a ranker file that differs. */
  fileHashes: Record<string, string>;
}

export type ToWorker = { type: 'score'; id: number; count: number; ints: Int32Array; floats: Float32Array } | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | {
      type: 'scored';
      id: number;
      count: number;
      ints: Int32Array;
      floats: Float32Array;
      times: Float64Array;
      problems: (string | null)[] | null;
      itemsJson: (string | null)[];
      runMs: number;
    }
  | { type: 'failed'; id: number | null; message: string };

const JOB_HEADER = 4; // n, session length, k, explain

/** Jobs → ints [n, s, k, explain, items…, session…]*, floats [retrieval scores…]*. */
export function packJobs(jobs: readonly ScoreJob[]): { ints: Int32Array; floats: Float32Array } {
  let nInts = 0;
  let nFloats = 0;
  for (const j of jobs) {
    nInts += JOB_HEADER + j.items.length + j.session.length;
    nFloats += j.items.length;
  }
  const ints = new Int32Array(nInts);
  const floats = new Float32Array(nFloats);
  let i = 0;
  let f = 0;
  for (const j of jobs) {
    const n = j.items.length;
    ints[i] = n;
    ints[i + 1] = j.session.length;
    ints[i + 2] = j.k;
    ints[i + 3] = j.explain ? 1 : 0;
    i += JOB_HEADER;
    ints.set(j.items, i);
    i += n;
    ints.set(j.session, i);
    i += j.session.length;
    floats.set(j.scores.subarray(0, n), f);
    f += n;
  }
  return { ints, floats };
}

/** The inverse of packJobs; the jobs are views into the two arrays. */
export function unpackJobs(count: number, ints: Int32Array, floats: Float32Array): ScoreJob[] {
  const jobs: ScoreJob[] = [];
  let i = 0;
  let f = 0;
  for (let r = 0; r < count; r++) {
    const n = ints[i];
    const s = ints[i + 1];
    const k = ints[i + 2];
    const explain = ints[i + 3] === 1;
    i += JOB_HEADER;
    const items = ints.subarray(i, i + n);
    i += n;
    const session = ints.subarray(i, i + s);
    i += s;
    jobs.push({ items, scores: floats.subarray(f, f + n), session, k, explain });
    f += n;
  }
  return jobs;
}

const WIDTH = RANK_FEATURES.length;

/**
 * Results → ints [ok, m, hasFeatures, positions…]*, floats [scores…, features…]*, times
 * [featuresMs, orderMs]*, each job's items text (null when it has none), and the problems of the
 * jobs that failed (null when none did).
 */
export function packResults(results: readonly JobResult[]): {
  ints: Int32Array;
  floats: Float32Array;
  times: Float64Array;
  problems: (string | null)[] | null;
  itemsJson: (string | null)[];
} {
  let nInts = 0;
  let nFloats = 0;
  for (const r of results) {
    nInts += 3 + (r.ok ? r.positions.length : 0);
    if (r.ok) nFloats += r.positions.length + (r.features ? r.features.length : 0);
  }
  const ints = new Int32Array(nInts);
  const floats = new Float32Array(nFloats);
  const times = new Float64Array(2 * results.length);
  let problems: (string | null)[] | null = null;
  let i = 0;
  let f = 0;
  results.forEach((r, q) => {
    if (!r.ok) {
      (problems ??= results.map(() => null))[q] = r.problem;
      i += 3;
      return;
    }
    const m = r.positions.length;
    ints[i] = 1;
    ints[i + 1] = m;
    ints[i + 2] = r.features ? 1 : 0;
    ints.set(r.positions, i + 3);
    i += 3 + m;
    floats.set(r.scores, f);
    f += m;
    if (r.features) {
      floats.set(r.features, f);
      f += r.features.length;
    }
    times[2 * q] = r.featuresMs;
    times[2 * q + 1] = r.orderMs;
  });
  return { ints, floats, times, problems, itemsJson: results.map((r) => (r.ok ? r.itemsJson : null)) };
}

/** A job's result with the batch's ranker run time, which the job shared. */
export type ScoredJob = JobResult & { runMs: number };

/**
 * The inverse of packResults; the results are views into the arrays, each carrying the batch's
 * `runMs`. Each result is built here once, whole: spreading it into a new object afterwards (as
 * `{ ...r, runMs }`) made the main thread promote ~95 KB per scavenge (--trace-gc-nvp), which at
 * 5,000 req/s meant a 6-12 ms mark-compact every ~4 s and p99 over 10 ms.
 */
export function unpackResults(
  count: number,
  ints: Int32Array,
  floats: Float32Array,
  times: Float64Array,
  problems: readonly (string | null)[] | null,
  itemsJson: readonly (string | null)[],
  runMs: number,
): ScoredJob[] {
  const out: ScoredJob[] = [];
  let i = 0;
  let f = 0;
  for (let q = 0; q < count; q++) {
    if (ints[i] !== 1) {
      out.push({ ok: false, problem: problems?.[q] ?? 'scoring failed', runMs });
      i += 3;
      continue;
    }
    const m = ints[i + 1];
    const hasFeatures = ints[i + 2] === 1;
    const positions = ints.subarray(i + 3, i + 3 + m);
    i += 3 + m;
    const scores = floats.subarray(f, f + m);
    f += m;
    let features: Float32Array | null = null;
    if (hasFeatures) {
      features = floats.subarray(f, f + m * WIDTH);
      f += m * WIDTH;
    }
    out.push({ ok: true, positions, scores, features, itemsJson: itemsJson[q] ?? null, featuresMs: times[2 * q], orderMs: times[2 * q + 1], runMs });
  }
  return out;
}
