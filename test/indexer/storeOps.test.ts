/**
 * `index list`, `index rollback` and `index gc` through the CLI: rollback flips CURRENT back, gc
 * never deletes CURRENT or the version before it, --dry-run removes nothing, and gc cleans what
 * dead builds leave behind.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/buildIndex.js';
import { silentLogger } from '../../shared/log.js';
import { writeChecksums } from '../../shared/store/checksums.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import type { IndexManifest } from '../../shared/store/types.js';
import { flipCurrent, listVersions, readCurrent, versionDir } from '../../shared/store/versionStore.js';
import { cli, lastLine, sharedFixture } from './fixture.js';

let root: string;
let built: string; // a store holding one real version, copied for each test
let store: string;
const ids = ['v20260101T000000Z-000001', 'v20260102T000000Z-000002', 'v20260103T000000Z-000003', 'v20260104T000000Z-000004'];

beforeAll(async () => {
  const fx = await sharedFixture();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-store-ops-'));
  built = path.join(root, 'built');
  await buildIndex({ data: fx.world, model: fx.model, store: built, logger: silentLogger });
});

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** A copy of the real version under another id, its checksums re-recorded: as loadable as the original. */
async function addVersion(id: string): Promise<void> {
  const src = versionDir(built, (await readCurrent(built)) as string);
  const dest = versionDir(store, id);
  await fs.cp(src, dest, { recursive: true });
  const m = JSON.parse(await fs.readFile(path.join(dest, 'manifest.json'), 'utf8')) as IndexManifest;
  await fs.writeFile(path.join(dest, 'manifest.json'), JSON.stringify({ ...m, version: id }));
  await writeChecksums(dest);
}

let k = 0;
beforeEach(async () => {
  store = path.join(root, `store-${k++}`);
  for (const id of ids) await addVersion(id);
  await flipCurrent(store, ids[3]);
});

const run = (...args: string[]) => cli(['index', ...args, '--store', store]);

describe('rollback', () => {
  it('flips CURRENT to the version before it, or to --to', async () => {
    const r = await run('rollback');
    expect(r.code, r.stderr).toBe(0);
    expect(lastLine(r.stdout)).toBe(`CURRENT: ${ids[3]} -> ${ids[2]}`);
    const v = await loadVersion(store);
    expect(v.id).toBe(ids[2]);
    await v.close();
    expect((await run('rollback', '--to', ids[0])).code).toBe(0);
    expect(await readCurrent(store)).toBe(ids[0]);
    const list = await run('list');
    expect(list.stdout).toMatch(new RegExp(`^\\*\\s+${ids[0]}`, 'm'));
  });

  it('refuses an unknown version (exit 6), a malformed id (exit 5) and having nothing before (exit 5)', async () => {
    expect((await run('rollback', '--to', 'v20990101T000000Z-ffffff')).code).toBe(6);
    expect((await run('rollback', '--to', '../../etc')).code).toBe(5);
    await flipCurrent(store, ids[0]);
    const r = await run('rollback');
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/no version before/);
    expect(await readCurrent(store)).toBe(ids[0]);
  });
});

describe('gc', () => {
  it('keeps the newest N, CURRENT and the version before CURRENT, even with --keep 0', async () => {
    await flipCurrent(store, ids[1]);
    const r = await run('gc', '--keep', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(await listVersions(store)).toEqual([ids[0], ids[1], ids[3]]);
    expect((await run('gc', '--keep', '0')).code).toBe(0);
    expect(await listVersions(store)).toEqual([ids[0], ids[1]]);
    const v = await loadVersion(store);
    expect(v.id).toBe(ids[1]);
    await v.close();
  });

  it('--dry-run says what it would remove and removes nothing', async () => {
    await fs.mkdir(path.join(store, 'tmp', 'v20260105T000000Z-000005'), { recursive: true });
    const r = await run('gc', '--keep', '1', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(lastLine(r.stdout)).toBe(`would remove ${ids[0]}, ${ids[1]}; would clean tmp/v20260105T000000Z-000005; kept ${ids[2]}, ${ids[3]}`);
    expect(await listVersions(store)).toEqual(ids);
    await expect(fs.access(path.join(store, 'tmp', 'v20260105T000000Z-000005'))).resolves.toBeUndefined();
  });

  it('cleans the leftovers of dead builds: tmp folders, pointer and lock files, a promoted orphan', async () => {
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const orphan = 'v20260105T000000Z-000005';
    await addVersion(orphan); // promoted by a build that died before flipping CURRENT
    await fs.writeFile(path.join(store, 'PUBLISHING'), `${orphan}\n`);
    await fs.mkdir(path.join(store, 'tmp', 'v20260106T000000Z-000006', 'model'), { recursive: true });
    await fs.writeFile(path.join(store, `CURRENT.${dead}.tmp`), `${orphan}\n`);
    await fs.writeFile(path.join(store, `build.lock.${dead}.abcdef`), '{}');
    const r = await run('gc', '--keep', '10');
    expect(r.code, r.stderr).toBe(0);
    expect(await listVersions(store)).toEqual(ids);
    expect((await fs.readdir(store)).sort()).toEqual(['CURRENT', 'tmp', 'versions']);
    expect(await fs.readdir(path.join(store, 'tmp'))).toEqual([]);
    expect(await readCurrent(store)).toBe(ids[3]);
  });

  it('keeps a PUBLISHING version that did become CURRENT (the build died after the flip)', async () => {
    await fs.writeFile(path.join(store, 'PUBLISHING'), `${ids[3]}\n`);
    expect((await run('gc', '--keep', '10')).code).toBe(0);
    expect(await listVersions(store)).toEqual(ids);
    await expect(fs.access(path.join(store, 'PUBLISHING'))).rejects.toThrow();
  });
});
