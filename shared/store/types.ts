/**
 * The layout of a published index version and its in-memory form.
 *
 * STORE/
 *   CURRENT                  the id of the serving version (replaced atomically by rename)
 *   versions/<id>/           immutable once published
 *     manifest.json          IndexManifest
 *     model/                 a copy of the model folder the version was built with
 *     item_ids.json          string[]: item index -> item id
 *     item_embeddings.f32    float32 little-endian, items × dim, row-major
 *     item_meta.json         { categories: string[], category: number[] (index into categories, -1 none) }
 *     popularity.f32         float32 per item: interaction count in the training data
 *     popular.json           number[]: item indices, most popular first (cold-start fallback)
 *     hnsw.bin               hnswlib-node index over item_embeddings (label = item index, 'ip' space)
 *     candidates.lmdb        LMDB: user id -> packed candidates (see shared/candidates)
 *     users.lmdb             LMDB: user id -> { user: UserRow, history: string[] } for known users
 *   tmp/                     builds in progress; leftovers of dead builds are removed
 *   build.lock               held by a running build (or gc); see buildLock.ts
 *   PUBLISHING               the id being promoted and flipped; see leftovers.ts
 */
import type { TwoTowerModel } from '../../models/types.js';
import type { UserRow } from '../data/types.js';

export interface CheckResult {
  name: string;
  value: number;
  threshold: number;
  /** How value compares to threshold for the check to pass. */
  op: '>=' | '<=' | '==';
  passed: boolean;
  detail?: string;
}

export interface IndexManifest {
  format: 'twotower-index/1';
  version: string;
  createdAt: string;
  model: { version: string; dim: number; similarity: 'dot' | 'cosine'; files: Record<string, string> };
  data: { dir: string; files: Record<string, { sha256: string; rows: number; file?: string }> };
  params: IndexParams;
  counts: { items: number; users: number; usersWithCandidates: number; interactions: number };
  /** Wall time of each stage; stages that overlap (hnsw_build with embed_users) each count fully. */
  timingsMs: Record<string, number>;
  /**
   * CPU time per stage: process-wide (all threads) and, for the worker-thread stages, the
   * workers' own threads (`*_threads`). On a shared machine this says what a quiet one would spend.
   */
  cpuMs?: Record<string, number>;
  checks: CheckResult[];
  /** Where and how the build ran (absent in versions written before it was recorded). */
  build?: BuildInfo;
}

/** Every parameter a build ran with, so that it can be reproduced. */
export interface IndexParams {
  topK: number;
  M: number;
  efConstruction: number;
  ef: number;
  retrieval: 'exact' | 'hnsw';
  batchSize: number;
  [extra: string]: unknown;
}

export interface BuildInfo {
  host: string;
  node: string;
  cpus: number;
  startedAt: string;
  /** Peak resident memory of the building process, MB. */
  peakRssMb: number;
  /** Leftovers of dead builds that this build removed before starting. */
  cleaned: string[];
}

/** Precomputed candidates of one user: item indices of the version, best first. */
export interface Candidates {
  items: Int32Array;
  scores: Float32Array;
}

export interface CandidateStore {
  get(userId: string): Candidates | null;
  close(): Promise<void>;
}

export interface KnownUser {
  user: UserRow | null;
  /** Item ids, oldest first. */
  history: string[];
}

/** The k nearest items to a query, nearest first. */
export interface Neighbours {
  /** Item indices. */
  labels: Int32Array;
  /** hnswlib's 'ip' distance: 1 - dot. */
  distances: Float32Array;
}

/** An approximate nearest-neighbour index, searched without holding the caller's thread. */
export interface AnnIndex {
  /** Items in the index. */
  readonly count: number;
  /** The k nearest items to `query` (dim values); k at most count. */
  search(query: Float32Array, k: number): Promise<Neighbours>;
  close(): Promise<void>;
}

/** Everything the ranker and the evaluator need from one version, held in memory. */
export interface LoadedVersion {
  id: string;
  dir: string;
  manifest: IndexManifest;
  itemIds: string[];
  itemIndex: Map<string, number>;
  dim: number;
  /**
   * items × dim, row-major, L2-normalised when the model's similarity is cosine. Over a
   * SharedArrayBuffer when loaded by loadVersion, so worker threads can read it without a copy.
   */
  embeddings: Float32Array;
  /**
   * The shared WebAssembly memory `embeddings` lies at the start of, when loaded so (loadVersion,
   * for catalogs that fit 4 GiB): the ranker's SIMD session kernel reads them there. Null or
   * absent otherwise, and the JavaScript kernel runs.
   */
  embeddingMemory?: WebAssembly.Memory | null;
  /** Category index per item, -1 when the item has none. */
  itemCategory: Int32Array;
  categories: string[];
  /** Interaction count per item. */
  popularity: Float32Array;
  /** Item indices, most popular first. */
  popular: Int32Array;
  /** The HNSW index over the item embeddings (label = item index, 'ip' space). */
  index: AnnIndex;
  candidates: CandidateStore;
  users: { get(userId: string): KnownUser | null };
  model: TwoTowerModel;
  /**
   * Registers cleanup of something a user of the version attached to it (the ranker's scoring
   * worker), run by close() before the version's own handles are closed.
   */
  onClose(cleanup: () => Promise<void>): void;
  close(): Promise<void>;
}
