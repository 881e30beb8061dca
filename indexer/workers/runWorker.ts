/** Runs one worker job to completion, turning its messages into callbacks and a promise. */
import type { Worker } from 'node:worker_threads';
import { TwoTowerError } from '../../shared/errors.js';
import type { WorkerMessage } from './protocol.js';

export interface WorkerCallbacks {
  onProgress?: (done: number) => void;
  onChunk?: (m: Extract<WorkerMessage, { type: 'chunk' }>) => void;
  onDone?: (m: Extract<WorkerMessage, { type: 'done' }>) => void;
  /** Aborting terminates the worker (the build failed elsewhere and its work is moot). */
  signal?: AbortSignal;
  /**
   * With a stop flag (the job's shared Int32 flag) aborting sets it instead and the promise
   * settles once the worker has stopped by itself: a worker terminated inside native code
   * (hnswlib) can abort the whole process.
   */
  stop?: Int32Array;
}

/** Resolves with the worker's final count; rejects on an error message, a crash or a bad exit. */
export function runWorker(worker: Worker, cb: WorkerCallbacks = {}): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(err);
    };
    worker.on('message', (m: WorkerMessage) => {
      try {
        if (m.type === 'progress') cb.onProgress?.(m.done);
        else if (m.type === 'chunk') cb.onChunk?.(m);
        else if (m.type === 'error') fail(m.code ? new TwoTowerError(m.code, m.message, m.details ?? {}) : new TwoTowerError('INTERNAL', `worker failed: ${m.message}`));
        else if (m.type === 'done' && !settled) {
          settled = true;
          cb.onDone?.(m);
          resolve(m.count);
          void worker.terminate();
        }
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      }
    });
    worker.on('error', (err) => fail(err));
    const abort = () => {
      if (!cb.stop) return fail(new TwoTowerError('INTERNAL', 'worker job aborted'));
      Atomics.store(cb.stop, 0, 1);
      Atomics.notify(cb.stop, 0);
    };
    if (cb.signal?.aborted) abort();
    else cb.signal?.addEventListener('abort', abort, { once: true });
    worker.on('exit', (code) => {
      if (!settled) fail(new TwoTowerError('INTERNAL', `worker exited with code ${code} before finishing`));
    });
  });
}
