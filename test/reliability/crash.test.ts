/**
 * Area 1, crash safety of publishing. The indexer CLI (a real child process) is killed with
 * SIGKILL at moments spread over a whole build (one random moment in each of N equal slices of a
 * measured build, so every stage gets hit, not only the long ones); after each kill CURRENT names
 * a complete version that loads and answers, every version in the store still matches the
 * checksums it was published with, and the next build succeeds and leaves nothing behind. Then
 * the store is put on a small tmpfs that fills up mid-build: the build fails with a clear error
 * and publishes nothing.
 *
 * (test/indexer/crash.test.ts kills at each named crash point; this adds the random moments and
 * the full disk, at N = 20 in soak.)
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmVersion } from '../../ranker/warm.js';
import { buildIndex } from '../../indexer/buildIndex.js';
import { scanIds } from '../../shared/data/idIndex.js';
import { silentLogger } from '../../shared/log.js';
import { verifyChecksums } from '../../shared/store/checksums.js';
import { loadVersion } from '../../shared/store/loadVersion.js';
import { listVersions, readCurrent, versionDir } from '../../shared/store/versionStore.js';
import { cli, sharedFixture, startCli, type CliRun, type SharedFixture } from '../indexer/fixture.js';
import { report, size, timeout } from './helpers.js';

const KILLS = size(3, 20);

let fx: SharedFixture;
let root: string;
let userId: string;

beforeAll(async () => {
  fx = await sharedFixture();
  userId = (await scanIds(path.join(fx.world, 'users.arrow'), 'user_id')).index.ids[0];
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-rel-crash-'));
});

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

const buildArgs = (store: string) => ['index', 'build', '--data', fx.world, '--model', fx.model, '--store', store, '--json-log'];

/** The stage a build's JSON log had reached: the last stage started (or 'published'). */
function lastStage(stderr: string): string {
  let stage = 'startup';
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line) as { event?: string; stage?: string };
      if (e.event === 'stage_start' && e.stage) stage = e.stage;
      if (e.event === 'published') stage = 'published';
    } catch {
      // a line cut by the kill
    }
  }
  return stage;
}

/** CURRENT loads, warms up (a full ranking through every stage) and has the known user's list. */
async function expectServable(store: string): Promise<string> {
  const current = await readCurrent(store);
  expect(current).not.toBeNull();
  const v = await loadVersion(store);
  try {
    expect(v.id).toBe(current);
    expect(v.candidates.get(userId)?.items.length).toBeGreaterThan(0);
    const warm = await warmVersion(v);
    expect(warm.items.length).toBeGreaterThan(0);
  } finally {
    await v.close();
  }
  return current as string;
}

/** Every version in the store matches its checksums; one never seen before also loads. */
async function expectAllIntact(store: string, loaded: Set<string>): Promise<string[]> {
  const versions = await listVersions(store);
  for (const id of versions) {
    await verifyChecksums(versionDir(store, id), `versions/${id}`);
    if (!loaded.has(id)) {
      const v = await loadVersion(store, id);
      await v.close();
      loaded.add(id);
    }
  }
  return versions;
}

/** What a finished build must not leave: its lock, a PUBLISHING marker, tmp/ contents, pointer temps. */
async function expectNoLeftovers(store: string): Promise<void> {
  const names = await fs.readdir(store);
  expect(names.filter((n) => n !== 'versions' && n !== 'tmp' && n !== 'CURRENT')).toEqual([]);
  expect(await fs.readdir(path.join(store, 'tmp'))).toEqual([]);
}

describe('SIGKILL at random moments across a build', () => {
  it(
    `after each of ${KILLS} kills CURRENT and every version are intact and loadable, and the next build succeeds`,
    async () => {
      const store = path.join(root, 'store');
      const first = await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger });
      const everCurrent = new Set([first.version]);
      const loaded = new Set<string>();

      // One full build through the CLI, timed from its first log line (the work) to its exit.
      const calib = startCli(buildArgs(store));
      let workStart = 0;
      calib.child.stderr?.once('data', () => (workStart = performance.now()));
      const calibRun = await calib.done;
      expect(calibRun.code, calibRun.stderr).toBe(0);
      const workMs = performance.now() - workStart;
      everCurrent.add((await readCurrent(store)) as string);

      const outcomes: { delayMs: number; stage: string; result: string }[] = [];
      let survived = 0;
      for (let i = 0; i < KILLS; i++) {
        const before = await readCurrent(store);
        // A random moment in the i-th of KILLS equal slices of the build, a little past its end
        // so that a kill can also land on a build that has just published.
        const delayMs = ((i + Math.random()) / KILLS) * workMs * 1.05;
        const { child, done } = startCli(buildArgs(store));
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        await new Promise<void>((resolve) => child.stderr?.once('data', () => resolve()));
        await new Promise((r) => setTimeout(r, delayMs));
        const stage = lastStage(stderr);
        child.kill('SIGKILL');
        const run: CliRun = await done;

        const now = await expectServable(store);
        if (run.signal === 'SIGKILL') {
          // Killed before the flip: CURRENT unchanged; after it: the new version, complete.
          if (now !== before) expect(await listVersions(store)).toContain(now);
        } else {
          expect(run.code, run.stderr).toBe(0);
        }
        everCurrent.add(now);
        const versions = await expectAllIntact(store, loaded);
        for (const v of everCurrent) expect(versions).toContain(v);

        // The next build takes over the dead build's lock, cleans up after it and publishes.
        const next = await cli(buildArgs(store));
        expect(next.code, next.stderr).toBe(0);
        expect(next.stdout).toMatch(/^published v\d{8}T\d{6}Z-[0-9a-f]{6} in /m);
        const published = await expectServable(store);
        expect(published).not.toBe(now);
        everCurrent.add(published);
        await expectNoLeftovers(store);
        await expectAllIntact(store, loaded);
        survived++;
        outcomes.push({ delayMs: Math.round(delayMs), stage, result: run.signal === 'SIGKILL' ? (now === before ? 'killed, CURRENT unchanged' : 'killed after the flip, new CURRENT') : 'finished before the kill' });
      }
      const byStage = new Map<string, number>();
      for (const o of outcomes) byStage.set(o.stage, (byStage.get(o.stage) ?? 0) + 1);
      report(
        'crash',
        `kills survived ${survived}/${KILLS} (build work ${Math.round(workMs)} ms; kills by stage: ${[...byStage].map(([s, n]) => `${s} ${n}`).join(', ')}; ` +
          `${outcomes.filter((o) => o.result.startsWith('killed, CURRENT')).length} left CURRENT unchanged, ` +
          `${outcomes.filter((o) => o.result.startsWith('killed after')).length} died after the flip, ${outcomes.filter((o) => o.result.startsWith('finished')).length} finished first; ` +
          `${(await listVersions(store)).length} versions all verified)`,
      );
      expect(survived).toBe(KILLS);
    },
    timeout(150, 900),
  );
});

/** Whether this process may mount a tmpfs (root in a container usually may not). */
function canMountTmpfs(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  const probe = path.join(os.tmpdir(), `tt-mount-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', probe]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})`;
  } finally {
    execFileSync('rm', ['-rf', probe]);
  }
}

const noMount = canMountTmpfs();
if (noMount) console.log(`[reliability] crash: full-disk test SKIPPED: ${noMount}`);

describe.skipIf(noMount !== null)('a full disk mid-build', () => {
  let disk: string;
  /** Per share of a version left free: how the build ended and the error line it printed. */
  const ends: { share: number; code: number | null; signal: string | null; stage: string; message: string | null }[] = [];
  afterAll(() => {
    if (disk) execFileSync('umount', [disk], { stdio: 'pipe' });
  });

  it(
    'publishes nothing, exits non-zero without a crash by signal, and the next build succeeds once there is room',
    async () => {
      disk = path.join(root, 'disk');
      await fs.mkdir(disk);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', disk]);
      const store = path.join(disk, 'store');
      const first = await buildIndex({ data: fx.world, model: fx.model, store, logger: silentLogger });
      const versionBytes = Number(execFileSync('du', ['-sb', versionDir(store, first.version)]).toString().split('\t')[0]);

      // Room for a share of a second version: the build runs out of space at a different stage
      // for each share (model copy, item files, LMDB stores, HNSW file, checksums). Near 100% a
      // build may fit after all (sizes vary a little between builds): then it must have published
      // a complete version, and the next share is measured against that one.
      const shares = size([0.1, 0.3, 0.5, 0.9], [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
      for (const share of shares) {
        const current = (await readCurrent(store)) as string;
        const versions = await listVersions(store);
        const used = Number(execFileSync('df', ['-B1', '--output=used', disk]).toString().trim().split('\n')[1]);
        const limit = Math.ceil((used + share * versionBytes) / 4096) * 4096;
        execFileSync('mount', ['-o', `remount,size=${limit}`, disk]);
        const run = await cli(buildArgs(store));
        const message = run.stderr.split('\n').find((l) => l.startsWith('twotower:')) ?? null;
        ends.push({ share, code: run.code, signal: run.signal, stage: lastStage(run.stderr), message });

        // Not a crash by signal (SIGBUS from a memory-mapped write would be one).
        expect(run.signal, run.stderr.slice(-2000)).toBeNull();
        if (run.code === 0) {
          const now = await expectServable(store);
          await verifyChecksums(versionDir(store, now), `versions/${now}`);
          continue;
        }
        // Nothing published: CURRENT and the version list unchanged, the old version intact.
        expect(await readCurrent(store)).toBe(current);
        expect(await listVersions(store)).toEqual(versions);
        await verifyChecksums(versionDir(store, current), `versions/${current}`);
      }
      // The small shares cannot have fit.
      expect(ends.filter((e) => e.code !== 0).length).toBeGreaterThanOrEqual(Math.min(2, shares.length));
      report(
        'crash',
        `full disk (tmpfs): ${ends
          .map((e) =>
            e.code === 0
              ? `${Math.round(e.share * 100)}% of a version free → it fitted: published, complete`
              : `${Math.round(e.share * 100)}% of a version free → exit ${e.code ?? e.signal} in ${e.stage}: ${e.message?.slice(0, 120) ?? 'NO error line (uncaught exception trace)'}`,
          )
          .join(' | ')}`,
      );

      execFileSync('mount', ['-o', 'remount,size=64m', disk]);
      const run = await cli(buildArgs(store));
      expect(run.code, run.stderr).toBe(0);
      const now = await expectServable(store);
      expect(now).not.toBe(first.version);
      await expectNoLeftovers(store);
    },
    timeout(120, 400),
  );

  // Was a known bug: the LMDB writers dropped db.put's promise, so a commit that failed on the full
  // disk (LMDB reports the short page write as EIO) was an unhandled rejection and the process
  // died with a bare stack trace. The writers now throw a StoreError naming the file.
  it('every full-disk failure says so in one twotower: line and the "nothing published" line', () => {
    expect(ends.length).toBeGreaterThan(0);
    for (const e of ends.filter((x) => x.code !== 0)) {
      expect(e.message, `share ${e.share}`).toMatch(/ENOSPC|no space left/i);
    }
  });
});
