/**
 * Where the embedding stages run the towers: on this thread, or in a worker thread that holds its
 * own sessions of the same model files, so that this thread encodes batch b + 1 while the worker
 * runs batch b. Both write each batch's vectors into the stage's shared matrix.
 *
 * The worker is started once per build and serves both towers; it pays a session load (about
 * 0.1 s), which is why a small build runs its towers here instead.
 */
import type { EncodedInput } from '../models/features.js';
import type { LoadedModel } from '../models/model.js';
import { TwoTowerError } from '../shared/errors.js';
import { WorkerClient } from '../shared/workers/workerClient.js';
import type { TowerRun, TowerWorkerJob } from './workers/protocol.js';

export type Tower = 'item' | 'user';

export interface TowerExecutor {
  /** Runs `tower` on n encoded rows and writes their n × dim vectors at out[offset ..]. */
  run(tower: Tower, inputs: readonly EncodedInput[], n: number, out: Float32Array, offset: number): Promise<void>;
  /** How many runs may be in flight at once: more than one only when they overlap the caller's work. */
  readonly depth: number;
  close(): Promise<void>;
}

/** Runs on the calling thread: nothing to overlap with, so one run at a time. */
export function inThisThread(model: Pick<LoadedModel, 'embedEncoded'>): TowerExecutor {
  return {
    depth: 1,
    async run(tower, inputs, n, out, offset) {
      out.set(await model.embedEncoded(tower, inputs, n), offset);
    },
    async close() {},
  };
}

const TOWER_WORKER = new URL('./workers/towerWorker.js', import.meta.url);

/** Runs in a worker thread, each tower's session with its own number of onnxruntime threads. */
export class TowerRunner implements TowerExecutor {
  /** The worker has the next batch queued while this thread encodes another (and a spare for GC pauses). */
  readonly depth = 3;

  private constructor(private readonly client: WorkerClient<TowerRun, null, null>) {}

  /** `intraOpThreads`: one count for both towers, or one per tower. */
  static async start(model: LoadedModel, intraOpThreads: number | { item: number; user: number }): Promise<TowerRunner> {
    const threads = typeof intraOpThreads === 'number' ? { item: intraOpThreads, user: intraOpThreads } : intraOpThreads;
    const job: TowerWorkerJob = { kind: 'towers', modelDir: model.dir, device: model.device, intraOpThreads: threads, fileHashes: { ...model.fileHashes } };
    return new TowerRunner(await WorkerClient.start<TowerRun, null, null>(TOWER_WORKER, job, 'tower worker', () => 'tower worker'));
  }

  async run(tower: Tower, inputs: readonly EncodedInput[], n: number, out: Float32Array, offset: number): Promise<void> {
    if (!(out.buffer instanceof SharedArrayBuffer) || out.byteOffset !== 0) throw new TwoTowerError('INTERNAL', 'TowerRunner writes into a whole SharedArrayBuffer matrix');
    // The encoded arrays are this batch's own: moved to the worker, not copied.
    await this.client.call({ tower, n, inputs: inputs as TowerRun['inputs'], out: out.buffer, offset }, transferable(inputs));
  }

  close(): Promise<void> {
    return this.client.close('tower runner closed');
  }
}

/** Each distinct ArrayBuffer behind the inputs once (a duplicate in a transfer list throws); shared memory is not transferable. */
function transferable(inputs: readonly EncodedInput[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const e of inputs) if (e.data.buffer instanceof ArrayBuffer) out.add(e.data.buffer);
  return [...out];
}
