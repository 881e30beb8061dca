/**
 * A model loaded and run in a worker thread of its own (modelWorker.ts), behind the same
 * TwoTowerModel interface as one loaded in this thread. This is how a version's model is loaded
 * (shared/store/loadVersion.ts): the ranker loads new versions while it serves, and neither the
 * load nor the live user tower should hold its HTTP thread.
 *
 * Each call costs a message each way (the arguments and the result are copied), which the
 * ranker's micro-batcher can share among the requests of one event-loop turn.
 */
import type { ItemRow } from '../shared/data/types.js';
import { WorkerClient } from '../shared/workers/workerClient.js';
import type { Device, LoadModelOptions } from './model.js';
import type { ModelCall, ModelInfo, ModelWorkerData } from './modelWorkerProtocol.js';
import type { TwoTowerModel, UserQuery } from './types.js';

const MODEL_WORKER = new URL('./modelWorker.js', import.meta.url);

/**
 * Loads the model folder `dir` in a new worker thread; refused as loadModel would refuse it.
 * `onDeath` hears of a thread that stopped other than by close() (every call then fails).
 */
export async function loadModelInWorker(dir: string, options: LoadModelOptions = {}, onDeath?: (err: Error) => void): Promise<WorkerModel> {
  const data: ModelWorkerData = { dir, options };
  const client = await WorkerClient.start<ModelCall, Float32Array, ModelInfo>(MODEL_WORKER, data, 'model worker', (info) => `model worker of model ${info.modelVersion}`, onDeath);
  return new WorkerModel(dir, client);
}

export class WorkerModel implements TwoTowerModel {
  readonly modelVersion: string;
  readonly dim: number;
  readonly similarity: 'dot' | 'cosine';
  readonly rankerFeatures: readonly string[];
  readonly fileHashes: Readonly<Record<string, string>>;
  readonly device: Device;

  constructor(
    readonly dir: string,
    private readonly client: WorkerClient<ModelCall, Float32Array, ModelInfo>,
  ) {
    const { info } = client;
    this.modelVersion = info.modelVersion;
    this.dim = info.dim;
    this.similarity = info.similarity;
    this.rankerFeatures = Object.freeze([...info.rankerFeatures]);
    this.fileHashes = Object.freeze({ ...info.fileHashes });
    this.device = info.device;
  }

  embedUsers(queries: UserQuery[]): Promise<Float32Array> {
    return queries.length === 0 ? Promise.resolve(new Float32Array(0)) : this.client.call({ op: 'embedUsers', queries });
  }

  embedItems(rows: ItemRow[]): Promise<Float32Array> {
    return rows.length === 0 ? Promise.resolve(new Float32Array(0)) : this.client.call({ op: 'embedItems', rows });
  }

  scoreRanker(features: Float32Array, n: number): Promise<Float32Array> {
    return this.client.call({ op: 'scoreRanker', features, n });
  }

  /** Lets calls under way finish, then releases the sessions and ends the thread. */
  close(): Promise<void> {
    return this.client.close(`model ${this.modelVersion} is closed`);
  }
}
