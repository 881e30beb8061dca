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

export function exitCodeFor(err: unknown): number {
  return err instanceof TwoTowerError ? EXIT_CODES[err.code] : EXIT_CODES.INTERNAL;
}
