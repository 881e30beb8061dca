/**
 * Crash safety: a build killed with SIGKILL (at named points, and at random moments) leaves CURRENT
 * and the published versions intact and loadable; the next build takes over the dead build's lock,
 * cleans its leftovers and publishes.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex } from '../../indexer/buildIndex.js';
import { scanIds } from '../../shared/data/idIndex.js';
import { silentLogger } from '../../shared/log.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import { listVersions, readCurrent } from '../../shared/store/versionStore.js';
import { cli, sharedFixture, startCli, type SharedFixture } from './fixture.js';

let fx: SharedFixture;
let root: string;
let store: string;
let userId: string;
const served = new Set<string>();

beforeAll(async () => {
  fx = await sharedFixture();
  userId = (await scanIds(path.join(fx.world, 'users.arrow'), 'user_id')).index.ids[0];
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-crash-'));
  store = path.join(root, 'store');
  served.add((await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger })).version);
});

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const buildArgs = () => ['index', 'build', '--data', fx.world, '--model', fx.model, '--store', store, '--json-log'];

/** CURRENT names a complete version that the ranker could load. */
async function expectServable(expected?: string): Promise<string> {
  const current = await readCurrent(store);
  expect(current).not.toBeNull();
  if (expected) expect(current).toBe(expected);
  const v = await loadVersion(store);
  expect(v.id).toBe(current);
  expect(v.candidates.get(userId)?.items.length).toBeGreaterThan(0);
  await v.close();
  return current as string;
}

describe('a build killed with SIGKILL', () => {
  // Where the build dies, and whether CURRENT has already moved to the new version by then.
  const points: [string, boolean][] = [
    ['embed_items', false],
    ['user_topk', false],
    ['promote', false],
    ['after_promote', false],
    ['flip', false],
    ['after_flip', true],
  ];

  it.each(points)('at %s leaves a servable CURRENT, and the next build cleans up', async (point, flipped) => {
    const before = await readCurrent(store);
    const run = await cli(buildArgs(), { TWOTOWER_CRASH_AT: point });
    expect(run.signal, run.stderr).toBe('SIGKILL');
    // The dead build's lock is still there, naming a pid that no longer runs.
    const lock = JSON.parse(await fs.readFile(path.join(store, 'build.lock'), 'utf8')) as { pid: number };
    expect(() => process.kill(lock.pid, 0)).toThrow();
    if (flipped) {
      const now = await expectServable();
      expect(now).not.toBe(before);
      served.add(now);
    } else {
      await expectServable(before as string);
    }
    // Every version that was ever CURRENT is still there.
    const versions = await listVersions(store);
    for (const v of served) expect(versions).toContain(v);
  });

  it('then a build takes over the stale lock, removes every leftover and publishes', async () => {
    const before = await readCurrent(store);
    const run = await cli(buildArgs());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^published v\d{8}T\d{6}Z-[0-9a-f]{6} in /m);
    const now = await expectServable();
    expect(now).not.toBe(before);
    const names = await fs.readdir(store);
    expect(names.filter((n) => n !== 'versions' && n !== 'tmp' && n !== 'CURRENT')).toEqual([]);
    expect(await fs.readdir(path.join(store, 'tmp'))).toEqual([]);
    // The orphans of 'after_promote' and 'flip' (promoted, never CURRENT) are gone: only the first
    // version, the one published by 'after_flip' and this one remain.
    expect(await listVersions(store)).toHaveLength(3);
  });

  it('at a random moment leaves CURRENT on a complete version', async () => {
    for (const delayMs of [700, 1400]) {
      const before = await readCurrent(store);
      const { child, done } = startCli(buildArgs());
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      const run = await done;
      const now = await expectServable();
      // Killed before the flip: unchanged; finished first: the new version, complete.
      if (run.signal === 'SIGKILL') expect([before, ...(await listVersions(store))]).toContain(now);
      else expect(run.code).toBe(0);
    }
    const run = await cli(buildArgs());
    expect(run.code, run.stderr).toBe(0);
    expect(await fs.readdir(path.join(store, 'tmp'))).toEqual([]);
  });
});
