/**
 * LmdbWrites: a failed lmdb commit (what a full disk gives) becomes one StoreError naming the file,
 * even when lmdb's flushed promise never settles afterwards; no rejection is left unhandled.
 * (test/reliability/crash.test.ts runs the real thing on a full tmpfs.)
 */
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LmdbWrites } from '../../shared/candidates/lmdbWrites.js';
import { StoreError, exitCodeFor } from '../../shared/errors.js';

/** What lmdb rejects a put with when its commit fails: the real error is in commitError. */
function commitFailure(code: number, message: string): Error {
  const inner = Object.assign(new Error(message), { code });
  const commitError = Promise.reject(inner);
  return Object.assign(new Error('Commit failed (see commitError for details)'), { commitError });
}

describe('LmdbWrites', () => {
  it('turns a failed commit into a StoreError naming the file, and does not wait on a flush that never comes', async () => {
    const file = path.join(os.tmpdir(), 'no-such-dir-lmdbwrites', 'candidates.lmdb');
    const w = new LmdbWrites(file);
    try {
      w.track(Promise.reject(commitFailure(os.constants.errno.ENOSPC, 'No space left on device')));
      const never = new Promise<void>(() => undefined);
      const err = await w.wait(never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).message).toMatch(/candidates\.lmdb: no space left on device \(LMDB write failed, ENOSPC/);
      expect(exitCodeFor(err)).toBe(5);
      expect(w.hasFailed).toBe(true);
      await expect(w.check()).rejects.toBe(err);
    } finally {
      w.release();
    }
  });

  it('names another storage failure by its errno, and passes a healthy wait through', async () => {
    const w = new LmdbWrites('/somewhere/users.lmdb');
    try {
      await w.wait(Promise.resolve());
      w.track(Promise.resolve(true));
      await w.wait(Promise.resolve());
      w.fail(commitFailure(os.constants.errno.EROFS, 'Read-only file system'));
      await expect(w.check()).rejects.toThrow(/users\.lmdb: read-only file system \(LMDB write failed: Read-only file system, EROFS/);
    } finally {
      w.release();
    }
  });
});
