/**
 * One build per store at a time.
 *
 * Taking the lock: the owner record ({pid, nonce, startedAt}) is written to a private file and
 * hard-linked to STORE/build.lock. link(2) fails with EEXIST if the lock exists, so the lock file
 * never exists half-written and exactly one of several racing processes wins.
 *
 * Taking over a stale lock (its pid no longer runs, so its build died) is where naive locks race:
 * two processes both see the dead owner, A removes the lock and takes a new one, B then removes
 * A's live lock. Here a process may only remove a lock while it holds STORE/build.lock.break
 * (created with O_EXCL) and only after re-reading the lock and finding the same dead owner's nonce
 * it saw before. A break file whose own owner died is removed the same way, guarded by its nonce.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TwoTowerError } from '../errors.js';

export interface BuildLock {
  /** The owner record written into the lock file. */
  readonly owner: LockOwner;
  release(): Promise<void>;
}

export interface LockOwner {
  pid: number;
  nonce: string;
  startedAt: string;
}

export const LOCK_FILE = 'build.lock';
const BREAK_FILE = 'build.lock.break';
const MAX_ATTEMPTS = 50;

export async function acquireBuildLock(store: string): Promise<BuildLock> {
  const file = path.join(store, LOCK_FILE);
  await fs.mkdir(store, { recursive: true });
  const owner: LockOwner = { pid: process.pid, nonce: randomBytes(8).toString('hex'), startedAt: new Date().toISOString() };
  const mine = path.join(store, `${LOCK_FILE}.${process.pid}.${owner.nonce}`);
  await writeDurable(mine, JSON.stringify(owner));
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await fs.link(mine, file);
        return { owner, release: () => releaseIfOurs(file, owner.nonce) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const seen = await readOwner(file);
      if (seen === 'gone') continue; // released between our link and our read: try again
      if (seen !== null && processAlive(seen.pid)) {
        throw new TwoTowerError('STORE', `another build (pid ${seen.pid}) holds ${file} since ${seen.startedAt}`, { pid: seen.pid });
      }
      await breakStale(store, file, seen);
      await sleep(5 + Math.random() * 20);
    }
  } finally {
    await fs.rm(mine, { force: true });
  }
  throw new TwoTowerError('STORE', `could not take ${file} after ${MAX_ATTEMPTS} attempts (other processes keep taking it)`);
}

/** Who holds the lock now, without taking it: null when nobody does or the holder is dead. */
export async function liveLockOwner(store: string): Promise<LockOwner | null> {
  const seen = await readOwner(path.join(store, LOCK_FILE));
  return seen !== 'gone' && seen !== null && processAlive(seen.pid) ? seen : null;
}

/**
 * Removes `file` if it still holds the dead owner `stale` (null: an unreadable record, compared by
 * content). Gives up quietly when another process is breaking it: the caller retries anyway.
 */
async function breakStale(store: string, file: string, stale: LockOwner | null): Promise<void> {
  const breakFile = path.join(store, BREAK_FILE);
  const me: LockOwner = { pid: process.pid, nonce: randomBytes(8).toString('hex'), startedAt: new Date().toISOString() };
  const mine = path.join(store, `${BREAK_FILE}.${process.pid}.${me.nonce}`);
  await writeDurable(mine, JSON.stringify(me));
  try {
    try {
      await fs.link(mine, breakFile);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Someone is breaking the lock. If that someone died while doing so, clear its break file
      // (again only if it is still the same dead breaker) and let the next attempt proceed.
      const breaker = await readOwner(breakFile);
      if (breaker !== 'gone' && breaker !== null && !processAlive(breaker.pid)) await removeIfSame(breakFile, breaker);
      return;
    }
    try {
      const now = await readOwner(file);
      if (now !== 'gone' && sameOwner(now, stale)) await fs.rm(file, { force: true });
    } finally {
      await fs.rm(breakFile, { force: true });
    }
  } finally {
    await fs.rm(mine, { force: true });
  }
}

/**
 * Removes a dead breaker's file. Unlike the lock itself this is a best effort: a breaker holds its
 * file for a few milliseconds, so two processes finding the same dead breaker is already unlikely.
 */
async function removeIfSame(file: string, expected: LockOwner): Promise<void> {
  const now = await readOwner(file);
  if (now !== 'gone' && sameOwner(now, expected)) await fs.rm(file, { force: true });
}

async function releaseIfOurs(file: string, nonce: string): Promise<void> {
  const now = await readOwner(file);
  // A lock that is not ours any more (taken over after a long pause) must not be removed.
  if (now !== 'gone' && now !== null && now.nonce === nonce) await fs.rm(file, { force: true });
}

function sameOwner(a: LockOwner | null, b: LockOwner | null): boolean {
  if (a === null || b === null) return a === b;
  return a.pid === b.pid && a.nonce === b.nonce;
}

/** The lock's owner; null for a record that cannot be parsed (treated as stale); 'gone' if absent. */
async function readOwner(file: string): Promise<LockOwner | null | 'gone'> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number') return null;
    // Locks written before nonces existed carry only a pid; their pid alone identifies them.
    return { pid: parsed.pid, nonce: typeof parsed.nonce === 'string' ? parsed.nonce : '', startedAt: String(parsed.startedAt ?? '?') };
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeDurable(file: string, text: string): Promise<void> {
  const fh = await fs.open(file, 'wx');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
