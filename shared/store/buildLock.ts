/**
 * One build per store at a time. The lock is a file created with O_EXCL holding the owner's pid;
 * a lock whose pid no longer runs is stale (its build died) and is taken over.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TwoTowerError } from '../errors.js';

export interface BuildLock {
  release(): Promise<void>;
}

export async function acquireBuildLock(store: string): Promise<BuildLock> {
  const file = path.join(store, 'build.lock');
  await fs.mkdir(store, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(file, 'wx');
      await fh.writeFile(JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      await fh.close();
      return { release: () => fs.rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await readOwner(file);
      if (owner !== null && isAlive(owner)) {
        throw new TwoTowerError('STORE', `another build (pid ${owner}) holds ${file}`);
      }
      // Stale: the owner died. Two processes taking over the same stale lock at the same instant can
      // still race here (issue 3 hardens this); a live owner is never taken over.
      await fs.rm(file, { force: true });
    }
  }
  throw new TwoTowerError('STORE', `could not take ${file}`);
}

async function readOwner(file: string): Promise<number | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as { pid?: unknown };
    return typeof parsed.pid === 'number' ? parsed.pid : null;
  } catch {
    return null; // unreadable or half-written lock: treat as stale
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
