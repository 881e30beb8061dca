/**
 * Errors across a worker thread's message port. A thrown TwoTowerError keeps its code and details
 * on the way over, so that what the CLI's exit code or the API's status depends on survives the
 * thread; anything else arrives as INTERNAL, naming the worker it came from.
 */
import { TwoTowerError, type ErrorCode } from '../errors.js';

/** An error as a worker posts it. */
export interface PostedError {
  message: string;
  code?: ErrorCode;
  details?: Record<string, unknown>;
}

export function postedError(err: unknown): PostedError {
  if (err instanceof TwoTowerError) return { message: err.message, code: err.code, details: err.details };
  return { message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}

/** The error a posted one stands for; `what` names the worker for errors that had no code. */
export function receivedError(e: PostedError, what: string): TwoTowerError {
  return e.code ? new TwoTowerError(e.code, e.message, e.details ?? {}) : new TwoTowerError('INTERNAL', `${what}: ${e.message}`);
}
