/**
 * The version store: a folder of immutable versions and a CURRENT pointer.
 *
 * Publishing writes a version under tmp/, fsyncs every file, renames it into versions/ and only
 * then replaces CURRENT by writing CURRENT.tmp, fsyncing it and renaming it over CURRENT. rename(2)
 * is atomic on POSIX, so a reader (or a crash) sees either the old or the new pointer, never half.
 * Rollback is the same flip towards an older version.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TwoTowerError } from '../errors.js';
import { acquireBuildLock } from './buildLock.js';
import { writeChecksums } from './checksums.js';
import { crashPoint } from './crashPoint.js';
import { PUBLISHING_FILE, cleanLeftovers, findLeftovers } from './leftovers.js';

const VERSION_ID = /^v\d{8}T\d{6}Z-[0-9a-f]{6}$/;

export function versionsDir(store: string): string {
  return path.join(store, 'versions');
}

export function versionDir(store: string, id: string): string {
  assertVersionId(id);
  return path.join(versionsDir(store), id);
}

export function tmpDir(store: string): string {
  return path.join(store, 'tmp');
}

/** Version ids sort by creation time; the suffix keeps two builds in one second apart. */
export function newVersionId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const suffix = Math.floor(Math.random() * 0xffffff)
    .toString(16)
    .padStart(6, '0');
  return `v${stamp}-${suffix}`;
}

/** Refuses anything that is not a plain version id, so that no id can escape the store folder. */
export function assertVersionId(id: string): void {
  if (!VERSION_ID.test(id)) throw new TwoTowerError('STORE', `'${id}' is not a version id (expected like v20260101T000000Z-a1b2c3)`);
}

export async function readCurrent(store: string): Promise<string | null> {
  try {
    const id = (await fs.readFile(path.join(store, 'CURRENT'), 'utf8')).trim();
    assertVersionId(id);
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function listVersions(store: string): Promise<string[]> {
  try {
    const names = await fs.readdir(versionsDir(store));
    return names.filter((n) => VERSION_ID.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Atomically points CURRENT at `id`, which must be a published version. */
export async function flipCurrent(store: string, id: string): Promise<void> {
  const dir = versionDir(store, id);
  try {
    await fs.access(path.join(dir, 'manifest.json'));
  } catch {
    throw new TwoTowerError('STORE', `version ${id} is not published in ${store}`);
  }
  const tmp = path.join(store, `CURRENT.${process.pid}.tmp`);
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(`${id}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  crashPoint('flip');
  await fs.rename(tmp, path.join(store, 'CURRENT'));
  await fsyncDir(store);
}

/**
 * Publishes a finished build. checksums.json records every file first (loadVersion refuses a
 * version whose files changed, before native code reads them). PUBLISHING then records the id, so
 * that a crash between the two renames (build into versions/, pointer over CURRENT) leaves a
 * marked orphan that the next build or gc removes, instead of a never-served version that looks
 * like the one before CURRENT.
 */
export async function publishVersion(store: string, buildDir: string, id: string): Promise<string> {
  // Recorded while the build is still private in tmp/: a crash here leaves only a tmp/ leftover.
  await writeChecksums(buildDir);
  const marker = path.join(store, PUBLISHING_FILE);
  const fh = await fs.open(marker, 'w');
  try {
    await fh.writeFile(`${id}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsyncDir(store);
  crashPoint('promote');
  const dir = await promote(store, buildDir, id);
  crashPoint('after_promote');
  await flipCurrent(store, id);
  crashPoint('after_flip');
  await fs.rm(marker, { force: true });
  return dir;
}

/** fsyncs every file under dir and the directories themselves, so a rename publishes durable data. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await fsyncTree(p);
    else if (entry.isFile()) {
      const fh = await fs.open(p, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Moves a finished build from tmp/ into versions/ (same filesystem, so rename is atomic). */
export async function promote(store: string, buildDir: string, id: string): Promise<string> {
  const dest = versionDir(store, id);
  await fs.mkdir(versionsDir(store), { recursive: true });
  await fsyncTree(buildDir);
  await fs.rename(buildDir, dest);
  await fsyncDir(versionsDir(store));
  return dest;
}

export async function rollback(store: string, to?: string): Promise<{ from: string | null; to: string }> {
  const current = await readCurrent(store);
  const versions = await listVersions(store);
  let target = to;
  if (target === undefined) {
    const i = current ? versions.indexOf(current) : -1;
    if (i <= 0) throw new TwoTowerError('STORE', `no version before ${current ?? '(none)'} to roll back to`);
    target = versions[i - 1];
  }
  assertVersionId(target);
  if (!versions.includes(target)) throw new TwoTowerError('NOT_FOUND', `version ${target} not found in ${store}`);
  await flipCurrent(store, target);
  return { from: current, to: target };
}

/** What gc removes, or would remove with dryRun. */
export interface GcResult {
  removed: string[];
  kept: string[];
  /** Leftovers of dead builds that were cleaned (tmp dirs, half-written pointer files, orphans). */
  leftovers: string[];
}

/**
 * Removes old versions, keeping the newest `keep`, CURRENT and the version before CURRENT, and
 * cleans the leftovers of dead builds. Runs under the build lock, so it never races a build (a
 * running build's tmp/ folder is not a leftover); a live build makes gc fail with STORE.
 */
export async function collectGarbage(store: string, keep: number, opts: { dryRun?: boolean } = {}): Promise<GcResult> {
  if (!Number.isInteger(keep) || keep < 0) throw new TwoTowerError('BAD_INPUT', `keep must be a non-negative integer, got ${keep}`);
  const lock = await acquireBuildLock(store);
  try {
    const leftovers = opts.dryRun ? await findLeftovers(store) : await cleanLeftovers(store);
    const current = await readCurrent(store);
    const versions = await listVersions(store);
    const protect = new Set(versions.slice(Math.max(0, versions.length - keep)));
    if (current) {
      protect.add(current);
      const i = versions.indexOf(current);
      if (i > 0) protect.add(versions[i - 1]);
    }
    const removed: string[] = [];
    for (const v of versions) {
      if (protect.has(v)) continue;
      // Oldest first, each removal complete before the next: an interrupted gc leaves whole versions.
      if (!opts.dryRun) await removeVersion(store, v);
      removed.push(v);
    }
    return { removed, kept: versions.filter((v) => protect.has(v)), leftovers };
  } finally {
    await lock.release();
  }
}

/** collectGarbage, answering only the removed versions. */
export async function gc(store: string, keep: number): Promise<string[]> {
  return (await collectGarbage(store, keep)).removed;
}

/**
 * Deletes a version so that no reader ever sees it half-deleted under its real name: it is renamed
 * into tmp/ first (atomic), then removed there. A crash in between leaves a tmp/ leftover.
 */
async function removeVersion(store: string, id: string): Promise<void> {
  const trash = path.join(tmpDir(store), `gc-${id}`);
  await fs.mkdir(tmpDir(store), { recursive: true });
  await fs.rm(trash, { recursive: true, force: true });
  await fs.rename(versionDir(store, id), trash);
  await fs.rm(trash, { recursive: true, force: true });
}
