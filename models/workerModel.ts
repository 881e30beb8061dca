/**
 * A model loaded and run in a worker thread of its own (modelWorker.ts), behind the same
 * TwoTowerModel interface as one loaded in this thread. This is how a version's model is loaded
 * (shared/store/loadVersion.ts): the ranker loads new versions while it serves, and neither the
 * load nor the live user tower should hold its HTTP thread.
 *
 * Calls are sent as they come and answered in order of completion. Each costs a message each way
 * (the arguments and the result are copied), which the ranker's micro-batcher shares among the
 * requests of one event-loop turn.
 */
import type { Worker } from 'node:worker_threads';
import type { ItemRow } from '../shared/data/types.js';
import { TwoTowerError } from '../shared/errors.js';
import { startWorker, whenReady } from '../shared/workers/startWorker.js';
import { receivedError } from '../shared/workers/workerErrors.js';
import type { Device, LoadModelOptions } from './model.js';
import type { FromModelWorker, ModelCall, ModelInfo, ModelWorkerData, ToModelWorker } from './modelWorkerProtocol.js';
import type { TwoTowerModel, UserQuery } from './types.js';

const MODEL_WORKER = new URL('./modelWorker.js', import.meta.url);
const WHAT = 'model worker';

/** Loads the model folder `dir` in a new worker thread; refused as loadModel would refuse it. */
export async function loadModelInWorker(dir: string, options: LoadModelOptions = {}): Promise<WorkerModel> {
  const data: ModelWorkerData = { dir, options };
  const worker = startWorker(MODEL_WORKER, data);
  const ready = await whenReady<FromModelWorker>(worker, WHAT, (m) =>
    m.type === 'failed' ? receivedError(m, WHAT) : new TwoTowerError('INTERNAL', `${WHAT}: unexpected '${m.type}' while loading`),
  );
  return new WorkerModel(dir, ready.info, worker);
}

interface Pending {
  resolve: (values: Float32Array) => void;
  reject: (err: Error) => void;
  settled: Promise<unknown>;
}

export class WorkerModel implements TwoTowerModel {
  readonly modelVersion: string;
  readonly dim: number;
  readonly similarity: 'dot' | 'cosine';
  readonly rankerFeatures: readonly string[];
  readonly fileHashes: Readonly<Record<string, string>>;
  readonly device: Device;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  /** Why calls are refused: the worker stopped, or close() was called. */
  #dead: TwoTowerError | null = null;
  #closing: Promise<void> | null = null;
  #exited = false;

  constructor(
    readonly dir: string,
    info: ModelInfo,
    private readonly worker: Worker,
  ) {
    this.modelVersion = info.modelVersion;
    this.dim = info.dim;
    this.similarity = info.similarity;
    this.rankerFeatures = Object.freeze([...info.rankerFeatures]);
    this.fileHashes = Object.freeze({ ...info.fileHashes });
    this.device = info.device;
    worker.on('message', (m: FromModelWorker) => this.#onMessage(m));
    worker.on('error', (err) => this.#die(new TwoTowerError('INTERNAL', `${WHAT} of model ${this.modelVersion} failed: ${err.message}`)));
    worker.on('exit', (code) => {
      this.#exited = true;
      this.#die(new TwoTowerError('INTERNAL', `${WHAT} of model ${this.modelVersion} exited (code ${code})`));
    });
  }

  embedUsers(queries: UserQuery[]): Promise<Float32Array> {
    return queries.length === 0 ? Promise.resolve(new Float32Array(0)) : this.#call({ op: 'embedUsers', queries });
  }

  embedItems(rows: ItemRow[]): Promise<Float32Array> {
    return rows.length === 0 ? Promise.resolve(new Float32Array(0)) : this.#call({ op: 'embedItems', rows });
  }

  scoreRanker(features: Float32Array, n: number): Promise<Float32Array> {
    return this.#call({ op: 'scoreRanker', features, n });
  }

  /**
   * Refuses new calls, lets those under way finish (their sessions must not be released mid-run),
   * then releases the sessions and ends the thread.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#dead) return;
      this.#dead = new TwoTowerError('INTERNAL', `model ${this.modelVersion} is closed`);
      await Promise.allSettled([...this.#pending.values()].map((p) => p.settled));
      if (this.#exited) return;
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.postMessage({ type: 'close' } satisfies ToModelWorker);
      await exited;
    })();
    return this.#closing;
  }

  #call(call: ModelCall): Promise<Float32Array> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    let resolve!: (values: Float32Array) => void;
    let reject!: (err: Error) => void;
    const answer = new Promise<Float32Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#pending.set(id, { resolve, reject, settled: answer.catch(() => undefined) });
    this.worker.postMessage({ type: 'call', id, ...call } satisfies ToModelWorker);
    return answer;
  }

  #onMessage(m: FromModelWorker): void {
    if (m.type === 'ready' || m.id === null) return;
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (m.type === 'done') p.resolve(m.values);
    else p.reject(receivedError(m, WHAT));
  }

  /** The thread is gone: nothing pending will be answered. */
  #die(err: TwoTowerError): void {
    this.#dead ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }
}
