/**
 * The message shapes of a worker thread that answers calls (workerClient.ts on the calling side,
 * serveCalls.ts in the worker): each call carries an id, and its answer or error comes back
 * with that id, in whatever order the calls finish.
 */
import type { PostedError } from './workerErrors.js';

export type ToCallWorker<C> = { type: 'call'; id: number; call: C } | { type: 'close' };

export type FromCallWorker<R, Ready = unknown> =
  | { type: 'ready'; info: Ready }
  | { type: 'done'; id: number; value: R }
  | ({ type: 'failed'; id: number | null } & PostedError);
