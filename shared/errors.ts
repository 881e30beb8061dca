/**
 * Typed errors with a stable `code`. The CLI maps each kind to an exit code so that a scheduler
 * can tell bad input from a failed validation from a bug; the API maps input errors to 4xx.
 */
export type ErrorCode =
  | 'BAD_INPUT' // a data file, a column, a value, an argument
  | 'MODEL_CONTRACT' // a model folder that does not meet the contract
  | 'VALIDATION_FAILED' // a built version failed its checks
  | 'STORE' // the version store is missing, locked or damaged
  | 'NOT_FOUND'
  | 'INTERNAL';

export const EXIT_CODES: Record<ErrorCode, number> = {
  BAD_INPUT: 2,
  MODEL_CONTRACT: 3,
  VALIDATION_FAILED: 4,
  STORE: 5,
  NOT_FOUND: 6,
  INTERNAL: 1,
};

export class TwoTowerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TwoTowerError';
  }
}

/** Where in an input file a problem was found; every field is optional but file. */
export interface InputLocation {
  file: string;
  row?: number; // 1-based data row (header not counted)
  column?: string;
}

export class InputError extends TwoTowerError {
  constructor(
    readonly location: InputLocation,
    problem: string,
  ) {
    super('BAD_INPUT', `${formatLocation(location)}: ${problem}`, { ...location });
    this.name = 'InputError';
  }
}

export function formatLocation(loc: InputLocation): string {
  let s = loc.file;
  if (loc.row !== undefined) s += `, row ${loc.row}`;
  if (loc.column !== undefined) s += `, column '${loc.column}'`;
  return s;
}

/** The version store (or a file in it) is missing, locked, damaged, or cannot be written. */
export class StoreError extends TwoTowerError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('STORE', message, details);
    this.name = 'StoreError';
  }
}

/**
 * File-system error codes that are about the storage, not about the program or its input: out of
 * space or quota, a failing (or short-writing) device, a read-only mount, out of file descriptors.
 */
export const STORAGE_ERRNO: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
};

/**
 * A Node file-system error with one of STORAGE_ERRNO's codes as a StoreError naming the file and
 * the cause; null for anything else (a TwoTowerError is already typed). `fallbackPath` names the
 * place when the failed call did not (a write on a file descriptor carries no path).
 */
export function storageErrorOf(err: unknown, fallbackPath?: string): StoreError | null {
  if (err instanceof TwoTowerError || typeof err !== 'object' || err === null) return null;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (!code || !Object.hasOwn(STORAGE_ERRNO, code)) return null;
  // A copy fails on what it writes: name the destination.
  const file = e.dest ?? e.path ?? fallbackPath;
  const during = e.syscall ? `, during ${e.syscall}` : '';
  return new StoreError(`${file ?? '(the system call named no file)'}: ${STORAGE_ERRNO[code]} (${code}${during})`, {
    errno: code,
    ...(file ? { path: file } : {}),
    ...(e.syscall ? { syscall: e.syscall } : {}),
  });
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof TwoTowerError) return EXIT_CODES[err.code];
  return storageErrorOf(err) ? EXIT_CODES.STORE : EXIT_CODES.INTERNAL;
}
