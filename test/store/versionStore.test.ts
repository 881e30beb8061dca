import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireBuildLock } from '../../shared/store/buildLock.js';
import {
  assertVersionId,
  flipCurrent,
  gc,
  listVersions,
  newVersionId,
  promote,
  readCurrent,
  rollback,
  tmpDir,
  versionDir,
} from '../../shared/store/versionStore.js';

let store: string;
beforeEach(async () => {
  store = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-store-'));
});
afterEach(async () => {
  await fs.rm(store, { recursive: true, force: true });
});

/** Publishes a minimal version folder through the same promote + flip path the indexer uses. */
async function publish(id: string): Promise<void> {
  const build = path.join(tmpDir(store), id);
  await fs.mkdir(build, { recursive: true });
  await fs.writeFile(path.join(build, 'manifest.json'), JSON.stringify({ version: id }));
  await promote(store, build, id);
  await flipCurrent(store, id);
}

const ids = ['v20260101T000000Z-000001', 'v20260102T000000Z-000002', 'v20260103T000000Z-000003', 'v20260104T000000Z-000004'];

describe('version store', () => {
  it('new ids are valid, sortable by time and distinct', () => {
    const a = newVersionId(new Date('2026-01-01T00:00:00Z'));
    const b = newVersionId(new Date('2026-01-02T00:00:00Z'));
    expect(() => assertVersionId(a)).not.toThrow();
    expect([b, a].sort()).toEqual([a, b]);
    expect(newVersionId()).not.toEqual(newVersionId());
  });

  it('refuses ids that could escape the store', () => {
    for (const bad of ['../etc', 'v20260101T000000Z-000001/../../x', '', 'CURRENT']) {
      expect(() => versionDir(store, bad)).toThrow(/not a version id/);
    }
  });

  it('publishes, flips CURRENT, lists and rolls back', async () => {
    expect(await readCurrent(store)).toBeNull();
    await publish(ids[0]);
    await publish(ids[1]);
    expect(await readCurrent(store)).toBe(ids[1]);
    expect(await listVersions(store)).toEqual([ids[0], ids[1]]);
    expect(await rollback(store)).toEqual({ from: ids[1], to: ids[0] });
    expect(await readCurrent(store)).toBe(ids[0]);
    await expect(rollback(store)).rejects.toThrow(/no version before/);
    await rollback(store, ids[1]);
    expect(await readCurrent(store)).toBe(ids[1]);
    await expect(rollback(store, 'v20990101T000000Z-ffffff')).rejects.toThrow(/not found/);
  });

  it('never points CURRENT at a version that is not published', async () => {
    await publish(ids[0]);
    await expect(flipCurrent(store, ids[1])).rejects.toThrow(/not published/);
    expect(await readCurrent(store)).toBe(ids[0]);
  });

  it('gc keeps the newest N, CURRENT and the one before it', async () => {
    for (const id of ids) await publish(id);
    await rollback(store, ids[1]); // CURRENT is old: it and ids[0] must survive
    const removed = await gc(store, 1);
    expect(removed).toEqual([ids[2]]);
    expect(await listVersions(store)).toEqual([ids[0], ids[1], ids[3]]);
  });
});

describe('build lock', () => {
  it('stops a second build and is free again after release', async () => {
    const lock = await acquireBuildLock(store);
    await expect(acquireBuildLock(store)).rejects.toThrow(/another build \(pid \d+\)/);
    await lock.release();
    const again = await acquireBuildLock(store);
    await again.release();
  });

  it('takes over a stale lock left by a dead process', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = child.pid as number;
    await new Promise((r) => child.on('exit', r));
    await fs.writeFile(path.join(store, 'build.lock'), JSON.stringify({ pid: deadPid }));
    const lock = await acquireBuildLock(store);
    const owner = JSON.parse(await fs.readFile(path.join(store, 'build.lock'), 'utf8')) as { pid: number };
    expect(owner.pid).toBe(process.pid);
    await lock.release();
  });
});
