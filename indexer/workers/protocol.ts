import type { ErrorCode } from '../../shared/errors.js';

/** Jobs and messages between the indexer and its worker threads (HNSW, towers, hashing). */

export interface HnswBuildJob {
  kind: 'build';
  /** Float32 item matrix, items × dim. */
  vectors: SharedArrayBuffer;
  dim: number;
  /** Item rows [from, to) go into this index, labelled by their row. */
  from: number;
  to: number;
  M: number;
  efConstruction: number;
  seed: number;
  /** Where the index is written. */
  file: string;
  /**
   * Int32 flag: once the main thread sets it to 1 the build stops at its next point and posts an
   * error. (Terminating the worker instead can land inside hnswlib's native code, whose failed
   * throw into a terminating thread aborts the whole process.)
   */
  stop?: SharedArrayBuffer;
}

export interface HnswQueryJob {
  kind: 'query';
  /** Index files; more than one are shards whose results are merged. */
  files: string[];
  dim: number;
  ef: number;
  k: number;
  itemCount: number;
  /** Float32 user matrix, users × dim. */
  users: SharedArrayBuffer;
  /** Int32 histories (CSR): offsets (users + 1) and seen item indices. */
  offsets: SharedArrayBuffer;
  seenItems: SharedArrayBuffer;
  /** Users [from, to), answered in chunks of `chunk` users. */
  from: number;
  to: number;
  chunk: number;
  /** Int32 per worker: chunks it may still send before the main thread consumes some. */
  credits: SharedArrayBuffer;
  slot: number;
}

export type WorkerMessage =
  | { type: 'progress'; done: number }
  | { type: 'chunk'; start: number; count: number; lens: Int32Array; items: Int32Array; scores: Float32Array }
  | { type: 'done'; count: number; digest?: string; /** CPU time of the worker thread, -1 if unknown. */ cpuMs?: number }
  /** code: a TwoTowerError's code (e.g. BAD_INPUT for a bad row), so the CLI's exit code survives the thread. */
  | { type: 'error'; message: string; code?: ErrorCode; details?: Record<string, unknown> };

/** Starts the tower worker: the towers of the model the main thread loaded, checked by hash. */
export interface TowerWorkerJob {
  kind: 'towers';
  modelDir: string;
  device: 'cpu' | 'cuda';
  /** onnxruntime threads of each tower's session. */
  intraOpThreads: { item: number; user: number };
  /** sha256 of each file as the main thread loaded it: a file changed since is refused. */
  fileHashes: Record<string, string>;
}

/**
 * A call to the tower worker (shared/workers/callProtocol.ts): run a tower on encoded inputs and
 * write n × dim floats at out[offset..]; answered with null once written.
 */
export interface TowerRun {
  tower: 'item' | 'user';
  n: number;
  inputs: { name: string; dtype: 'int64' | 'float32'; dims: number[]; data: Int32Array | Float32Array }[];
  out: SharedArrayBuffer;
  offset: number;
}
