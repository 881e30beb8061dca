/**
 * The per-request deadline (Vespa's idea): when the answer cannot be ready in time, answer with
 * what is ready and say so, rather than late.
 */
import { performance } from 'node:perf_hooks';

/** Returned by withDeadline when the deadline passed first. */
export const LATE: unique symbol = Symbol('late');
export type Late = typeof LATE;

/** Milliseconds left before `deadline` (a performance.now() timestamp); Infinity without one. */
export function remainingMs(deadline: number | undefined): number {
  return deadline === undefined ? Infinity : deadline - performance.now();
}

/**
 * Settles with `work`'s value, or with LATE once `deadline` passes. The losing side is not
 * abandoned carelessly: a late `work` still runs to its end (onnxruntime cannot be interrupted),
 * and a rejection it ends with is swallowed here rather than surfacing as an unhandled rejection.
 */
export function withDeadline<T>(work: Promise<T>, deadline: number | undefined): Promise<T | Late> {
  const left = remainingMs(deadline);
  if (left === Infinity) return work;
  work.catch(() => {});
  if (left <= 0) return Promise.resolve(LATE);
  return new Promise<T | Late>((resolve, reject) => {
    const timer = setTimeout(() => resolve(LATE), Math.ceil(left));
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
