/**
 * What a dead build leaves behind, and its removal. Only call with the build lock held: while a
 * build runs, its tmp/ folder and pointer files are work in progress, not leftovers.
 *
 * - tmp/<anything>               a build (or a gc removal) that never finished
 * - CURRENT.<pid>.tmp            a pointer written but never renamed over CURRENT
 * - build.lock[.break].<pid>.<n> a lock record written but never linked or removed
 * - PUBLISHING naming a version   promoted into versions/ but never made CURRENT (the build died
 *                                 between the two renames); it was never served, so it goes
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { processAlive as isAlive } from './buildLock.js';
import { listVersions, readCurrent, tmpDir, versionDir } from './versionStore.js';

export const PUBLISHING_FILE = 'PUBLISHING';

const POINTER_TMP = /^CURRENT\.\d+\.tmp$/;
const LOCK_PRIVATE = /^build\.lock(?:\.break)?\.(\d+)\.[0-9a-f]+$/;

/** Paths (relative to the store) that cleanLeftovers would remove. */
export async function findLeftovers(store: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdirOrEmpty(tmpDir(store))) found.push(path.join('tmp', name));
  for (const name of await readdirOrEmpty(store)) {
    if (POINTER_TMP.test(name)) found.push(name);
    const m = LOCK_PRIVATE.exec(name);
    if (m && Number(m[1]) !== process.pid && !isAlive(Number(m[1]))) found.push(name);
  }
  const orphan = await orphanVersion(store);
  if (orphan) found.push(path.join('versions', orphan));
  if (await exists(path.join(store, PUBLISHING_FILE))) found.push(PUBLISHING_FILE);
  return found;
}

export async function cleanLeftovers(store: string): Promise<string[]> {
  const found = await findLeftovers(store);
  const orphan = await orphanVersion(store);
  for (const rel of found) {
    if (rel === PUBLISHING_FILE) continue; // last: it is the only record of the orphan
    const abs = path.join(store, rel);
    if (orphan && abs === versionDir(store, orphan)) {
      // Out of versions/ by one atomic rename, so no reader sees a half-deleted version.
      const trash = path.join(tmpDir(store), `orphan-${orphan}`);
      await fs.mkdir(tmpDir(store), { recursive: true });
      await fs.rename(abs, trash);
      await fs.rm(trash, { recursive: true, force: true });
    } else {
      await fs.rm(abs, { recursive: true, force: true });
    }
  }
  await fs.rm(path.join(store, PUBLISHING_FILE), { force: true });
  return found;
}

/**
 * The version named by a PUBLISHING marker that never became CURRENT. (A build that died after
 * the flip but before removing the marker left CURRENT on its version, which is then kept.)
 */
async function orphanVersion(store: string): Promise<string | null> {
  let id: string;
  try {
    id = (await fs.readFile(path.join(store, PUBLISHING_FILE), 'utf8')).trim();
  } catch {
    return null;
  }
  if (id === (await readCurrent(store))) return null;
  return (await listVersions(store)).includes(id) ? id : null;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
