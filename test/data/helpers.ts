/** Shared helpers for the data-layer tests: temp folders and InputError assertions. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { InputError } from '../../shared/errors.js';

/** A fresh temp folder, removed after the test file. */
export function tempDir(prefix = 'twotower-data-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Where {
  file: string;
  row?: number;
  column?: string;
  /** A fragment of the problem description. */
  says?: string | RegExp;
}

/** Awaits a rejection and checks that it is an InputError naming file, row and column. */
export async function expectInputError(promise: Promise<unknown>, where: Where): Promise<InputError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an InputError').toBeInstanceOf(InputError);
  const err = caught as InputError;
  expect(err.code).toBe('BAD_INPUT');
  expect(err.message).toContain(where.file);
  expect(err.location.file).toBe(where.file);
  if (where.row !== undefined) {
    expect(err.location.row).toBe(where.row);
    expect(err.message).toContain(`row ${where.row}`);
  }
  if (where.column !== undefined) {
    expect(err.location.column).toBe(where.column);
    expect(err.message).toContain(`column '${where.column}'`);
  }
  if (where.says !== undefined) expect(err.message).toMatch(where.says);
  return err;
}

/** Collects an async generator of batches. */
export async function collect<T>(gen: AsyncGenerator<T[]>): Promise<{ rows: T[]; batches: number[] }> {
  const rows: T[] = [];
  const batches: number[] = [];
  for await (const b of gen) {
    batches.push(b.length);
    rows.push(...b);
  }
  return { rows, batches };
}
