/** Wraps a command action: one clear line on error and an exit code that says what kind of error. */
import { InvalidArgumentError } from 'commander';
import { TwoTowerError, exitCodeFor, storageErrorOf } from '../errors.js';

/**
 * What an error becomes at the CLI: a file-system failure of the storage (ENOSPC, EDQUOT, EIO,
 * EROFS, EMFILE) is a store error (exit 5) naming the file and the cause, not an internal error.
 */
export function cliError(err: unknown): unknown {
  return storageErrorOf(err) ?? err;
}

export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (caught) {
      const err = cliError(caught);
      if (err instanceof TwoTowerError) {
        process.stderr.write(`twotower: ${err.code}: ${err.message}\n`);
      } else {
        process.stderr.write(`twotower: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      }
      process.exitCode = exitCodeFor(err);
    }
  };
}

export function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--${name} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

export function floatOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`--${name} must be a number, got '${value}'`);
    return n;
  };
}
