/**
 * Where the embedding stages run the towers: on this thread, or in a worker thread that holds its
 * own sessions of the same model files, so that this thread encodes batch b + 1 while the worker
 * runs batch b. Both write each batch's vectors into the stage's shared matrix.
 *
 * The worker is started once per build and serves both towers; it pays a session load (about
 * 0.1 s), which is why a small build runs its towers here instead.
 */
import type { Worker } from 'node:worker_threads';
import type { EncodedInput } from '../models/features.js';
import type { LoadedModel } from '../models/model.js';
import { TwoTowerError } from '../shared/errors.js';
import { receivedError } from '../shared/workers/workerErrors.js';
import type { TowerRunRequest, TowerWorkerJob, TowerWorkerMessage } from './workers/protocol.js';
import { startWorker, whenReady } from '../shared/workers/startWorker.js';

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
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: TowerWorkerMessage) => {
      if (m.type === 'ran') this.settle(m.id, null);
      else if (m.type === 'failed') {
        const err = receivedError(m, 'tower worker');
        if (m.id === null) this.die(err);
        else this.settle(m.id, err);
      }
    });
    worker.on('error', (err) => this.die(err));
    worker.on('exit', (code) => this.die(new TwoTowerError('INTERNAL', `tower worker exited (code ${code})`)));
  }

  /** `intraOpThreads`: one count for both towers, or one per tower. */
  static async start(model: LoadedModel, intraOpThreads: number | { item: number; user: number }): Promise<TowerRunner> {
    const threads = typeof intraOpThreads === 'number' ? { item: intraOpThreads, user: intraOpThreads } : intraOpThreads;
    const job: TowerWorkerJob = { kind: 'towers', modelDir: model.dir, device: model.device, intraOpThreads: threads, fileHashes: { ...model.fileHashes } };
    const worker = startWorker(TOWER_WORKER, job);
    await whenReady<TowerWorkerMessage>(worker, 'tower worker', (m) =>
      m.type === 'failed' ? receivedError(m, 'tower worker') : new TwoTowerError('INTERNAL', `tower worker: unexpected '${m.type}'`),
    );
    return new TowerRunner(worker);
  }

  run(tower: Tower, inputs: readonly EncodedInput[], n: number, out: Float32Array, offset: number): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    if (!(out.buffer instanceof SharedArrayBuffer) || out.byteOffset !== 0) throw new TwoTowerError('INTERNAL', 'TowerRunner writes into a whole SharedArrayBuffer matrix');
    const id = this.nextId++;
    const req: TowerRunRequest = { type: 'run', id, tower, n, inputs: inputs as TowerRunRequest['inputs'], out: out.buffer, offset };
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // The encoded arrays are this batch's own: moved to the worker, not copied.
      this.worker.postMessage(req, transferable(inputs));
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.dead = new TwoTowerError('INTERNAL', 'tower runner closed');
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' });
    // A worker stuck in a run is not waited for beyond this.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
    this.rejectAll(this.dead);
  }

  private settle(id: number, err: Error | null): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (err) p.reject(err);
    else p.resolve();
  }

  private die(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    this.rejectAll(err);
    void this.worker.terminate();
  }

  private rejectAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** Each distinct ArrayBuffer behind the inputs once (a duplicate in a transfer list throws); shared memory is not transferable. */
function transferable(inputs: readonly EncodedInput[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const e of inputs) if (e.data.buffer instanceof ArrayBuffer) out.add(e.data.buffer);
  return [...out];
}
