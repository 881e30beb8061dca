/**
 * What lmdb-js does with a failed write, made into one clear StoreError.
 *
 * `db.put` returns a promise that lmdb settles when the batch's transaction commits. When the
 * commit fails (a full disk: LMDB's page write comes up short and it reports EIO, or ENOSPC when
 * nothing could be written) every put of that batch rejects with "Commit failed", whose
 * `commitError` is a second promise rejected with the real error. Neither may be left unhandled
 * (the process would die on an unhandled rejection), and `db.flushed` never settles after such a
 * failure, so a writer must not wait on it alone.
 *
 * With event-turn batching (lmdb's default) lmdb also starts each batch with an instruction of its
 * own whose commit promise it keeps to itself: on a failed commit that one rejects unhandled
 * whatever the caller does. While a writer is open, a process 'unhandledRejection' listener takes
 * lmdb's rejections as that writer's failure; any other rejection it leaves to Node's default
 * (it rethrows it, as Node would, when no other listener is installed). Turning event-turn batching
 * off instead avoids that promise, but on a full disk it runs many small transactions into the
 * error and lmdb 3.5 then sometimes aborts the process (malloc heap corruption, seen 1 in 9 runs).
 */
import { promises as fs, constants as fsConstants, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RootDatabase } from 'lmdb';
import { STORAGE_ERRNO, StoreError } from '../errors.js';

/** Below this many free bytes a short write (EIO) is taken for a full disk. */
const FULL_DISK_BYTES = 1 << 20;

/**
 * Below this many free bytes a writer refuses to open its database. LMDB writes its lock file
 * through a memory map: on a file system with (next to) no room left touching it kills the process
 * with SIGBUS (or SIGSEGV) instead of returning an error (seen with 8 KiB free; its lock file and
 * first pages take about 20 KiB). Checked once, when the writer opens; later writes that run out of
 * room fail through LmdbWrites.
 */
const MIN_FREE_TO_OPEN = 256 << 10;

/** Throws a StoreError naming `file` when its file system has too little room to open LMDB safely. */
export function assertRoomToOpen(file: string): void {
  let free: number;
  try {
    const s = statfsSync(path.dirname(file));
    free = Number(s.bavail) * Number(s.bsize);
  } catch {
    return; // the folder is missing or unreadable: lmdb's own error says so
  }
  if (free < MIN_FREE_TO_OPEN) {
    throw new StoreError(`${file}: no space left on device (${free} bytes free; LMDB needs at least ${MIN_FREE_TO_OPEN} to open safely)`, {
      path: file,
      errno: 'ENOSPC',
      freeBytes: free,
    });
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** Writers open now: lmdb's unowned rejections are their failures. */
const openWriters = new Set<LmdbWrites>();

function isLmdbRejection(reason: unknown): boolean {
  if (!(reason instanceof Error)) return false;
  return (reason.message.startsWith('Commit failed') && 'commitError' in reason) || /[\\/]node_modules[\\/]lmdb[\\/]/.test(reason.stack ?? '');
}

function onUnhandledRejection(reason: unknown): void {
  if (openWriters.size > 0 && isLmdbRejection(reason)) {
    // Which database it came from is not known: every open writer fails (a build has one open).
    for (const w of openWriters) w.fail(reason);
    return;
  }
  // Not ours: with no other listener, what Node does without one (the process dies with the trace).
  if (process.listenerCount('unhandledRejection') === 1) throw reason;
}

export class LmdbWrites {
  private failure: Promise<StoreError> | null = null;
  private failed!: Promise<never>;
  private rejectFailed!: (err: StoreError) => void;
  private lastTracked: Promise<unknown> | null = null;

  /** `file`: the LMDB file (or folder) this writer fills, named in the error. */
  constructor(private readonly file: string) {
    this.failed = new Promise<never>((_resolve, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined); // observed through wait() and check()
    if (openWriters.size === 0) process.on('unhandledRejection', onUnhandledRejection);
    openWriters.add(this);
  }

  /** Stops taking lmdb's unowned rejections for this writer (on close; or when it is given up). */
  release(): void {
    if (!openWriters.delete(this)) return;
    if (openWriters.size === 0) process.off('unhandledRejection', onUnhandledRejection);
  }

  /** Keeps the failure of a put's promise (lmdb hands the same promise to every put of a batch). */
  track(p: Promise<unknown>): void {
    if (p === this.lastTracked) return;
    this.lastTracked = p;
    p.then(undefined, (err: unknown) => this.fail(err));
  }

  /** Records the first failure (and handles its commitError); later ones add nothing. */
  fail(err: unknown): void {
    const commitError = (err as { commitError?: Promise<unknown> } | null)?.commitError;
    const cause: Promise<unknown> =
      commitError && typeof commitError.then === 'function' ? commitError.then(() => err, (e: unknown) => e) : Promise.resolve(err);
    if (this.failure) return;
    this.failure = cause.then((c) => this.describe(c));
    void this.failure.then((e) => this.rejectFailed(e));
  }

  /** Whether a write has failed (then check() throws). */
  get hasFailed(): boolean {
    return this.failure !== null;
  }

  /** Throws the recorded failure, if any. */
  async check(): Promise<void> {
    if (this.failure) throw await this.failure;
  }

  /** Waits for lmdb (e.g. `db.flushed`) unless a write has failed, then throws the failure. */
  async wait(p: PromiseLike<unknown>): Promise<void> {
    try {
      await Promise.race([p, this.failed]);
    } catch (err) {
      if (!this.failure) this.fail(err);
    }
    await this.check();
  }

  /** Flushes and closes `db`; after a failed write, throws it without waiting on lmdb (which would hang). */
  async close(db: RootDatabase<unknown, string>): Promise<void> {
    try {
      await this.wait(db.flushed);
      await this.wait(db.close());
    } finally {
      this.release();
    }
  }

  private async describe(cause: unknown): Promise<StoreError> {
    const c = cause as { code?: unknown; message?: unknown } | null;
    const raw = c?.code;
    const code = typeof raw === 'number' ? ERRNO_NAMES.get(raw) : typeof raw === 'string' ? raw : undefined;
    const what = typeof c?.message === 'string' ? c.message : String(cause);
    const free = await freeBytes(this.file);
    const freeText = free === null ? '' : `, ${free} bytes free`;
    let problem: string;
    if (code === 'ENOSPC') {
      problem = `no space left on device (LMDB write failed, ENOSPC${freeText})`;
    } else if (code === 'EIO' && free !== null && free < FULL_DISK_BYTES) {
      // LMDB reports a page write that came up short as EIO: on a file system with (next to) no
      // room left that is the disk filling up.
      problem = `no space left on device (LMDB write came up short: ${what}, EIO${freeText})`;
    } else if (code && Object.hasOwn(STORAGE_ERRNO, code)) {
      problem = `${STORAGE_ERRNO[code]} (LMDB write failed: ${what}, ${code}${freeText})`;
    } else {
      problem = `LMDB write failed: ${what}${code ? ` (${code})` : ''}`;
    }
    return new StoreError(`${this.file}: ${problem}`, {
      path: this.file,
      cause: what,
      ...(code ? { errno: code } : {}),
      ...(free !== null ? { freeBytes: free } : {}),
    });
  }
}

/** Free bytes (for an unprivileged writer) on the file system holding `file`; null if unknown. */
async function freeBytes(file: string): Promise<number | null> {
  for (const p of [file, path.dirname(file)]) {
    try {
      await fs.access(p, fsConstants.F_OK);
      const s = await fs.statfs(p);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      // try the folder
    }
  }
  return null;
}
