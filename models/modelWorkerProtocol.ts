/**
 * What a WorkerModel (workerModel.ts) and its thread (modelWorker.ts) exchange, in the shapes of
 * shared/workers/callProtocol.ts.
 */
import type { ItemRow } from '../shared/data/types.js';
import type { Device, LoadModelOptions } from './model.js';
import type { UserQuery } from './types.js';

export interface ModelWorkerData {
  dir: string;
  options: LoadModelOptions;
}

/** What the calling thread keeps of the loaded model: everything but its sessions and vocabularies. */
export interface ModelInfo {
  modelVersion: string;
  dim: number;
  similarity: 'dot' | 'cosine';
  rankerFeatures: string[];
  fileHashes: Record<string, string>;
  device: Device;
}

export type ModelCall =
  | { op: 'embedUsers'; queries: UserQuery[] }
  | { op: 'embedItems'; rows: ItemRow[] }
  | { op: 'scoreRanker'; features: Float32Array; n: number };
