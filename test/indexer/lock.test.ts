/** The build lock: one holder at a time, stale locks taken over, and no double takeover in a race. */
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireBuildLock, liveLockOwner } from '../../shared/store/buildLock.js';
import { collectGarbage } from '../../shared/store/versionStore.js';
import { cli, lastLine, sharedFixture } from './fixture.js';

const ROOT = path.resolve(__dirname, '../..');
let store: string;

beforeEach(async () => {
  store = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-lock-'));
});
afterEach(async () => {
  await fs.rm(store, { recursive: true, force: true });
});

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

async function writeLock(owner: unknown): Promise<void> {
  await fs.writeFile(path.join(store, 'build.lock'), typeof owner === 'string' ? owner : JSON.stringify(owner));
}

describe('build lock', () => {
  it('refuses a second holder while the first lives, names it, and frees on release', async () => {
    const lock = await acquireBuildLock(store);
    expect((await liveLockOwner(store))?.pid).toBe(process.pid);
    await expect(acquireBuildLock(store)).rejects.toMatchObject({ code: 'STORE', message: expect.stringMatching(/another build \(pid \d+\)/) });
    await lock.release();
    expect(await liveLockOwner(store)).toBeNull();
    await (await acquireBuildLock(store)).release();
  });

  it('takes over a lock whose owner died, and one that cannot be parsed', async () => {
    for (const stale of [{ pid: deadPid(), nonce: 'ab', startedAt: 'then' }, { pid: deadPid() }, '{"pid": 12', '']) {
      await writeLock(stale);
      const lock = await acquireBuildLock(store);
      expect(JSON.parse(await fs.readFile(path.join(store, 'build.lock'), 'utf8'))).toMatchObject({ pid: process.pid, nonce: lock.owner.nonce });
      await lock.release();
    }
    // Nothing of the takeovers is left behind.
    expect(await fs.readdir(store)).toEqual([]);
  });

  it('release never removes a lock that is no longer ours', async () => {
    const lock = await acquireBuildLock(store);
    await writeLock({ pid: process.pid, nonce: 'someone-else', startedAt: 'now' });
    await lock.release();
    expect(JSON.parse(await fs.readFile(path.join(store, 'build.lock'), 'utf8'))).toMatchObject({ nonce: 'someone-else' });
  });

  it('many calls racing for one stale lock in one process: exactly one wins', async () => {
    await writeLock({ pid: deadPid(), nonce: 'dead', startedAt: 'then' });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => acquireBuildLock(store)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'STORE' });
  });

  it('processes racing for a stale lock: exactly one wins, round after round', async () => {
    const rounds = 6;
    for (let r = 0; r < rounds; r++) {
      await fs.mkdir(path.join(store, String(r)));
      await fs.writeFile(path.join(store, String(r), 'build.lock'), JSON.stringify({ pid: deadPid(), nonce: 'dead', startedAt: 'then' }));
    }
    const startAt = Date.now() + 3000; // after every child has started
    const children = Array.from({ length: 4 }, () =>
      spawn(path.join(ROOT, 'node_modules', '.bin', 'vite-node'), [path.join(ROOT, 'test', 'indexer', 'lockChild.ts'), store, String(startAt), String(rounds), '4'], { cwd: ROOT }),
    );
    const outputs = await Promise.all(
      children.map(
        (c) =>
          new Promise<string[]>((resolve) => {
            let out = '';
            c.stdout.on('data', (d: Buffer) => (out += d.toString()));
            c.on('close', () => resolve(out.trim().split(' ')));
          }),
      ),
    );
    for (let r = 0; r < rounds; r++) {
      const round = outputs.map((o) => o[r]);
      expect(round.filter((w) => w === 'won'), `round ${r}: ${round.join(',')}`).toHaveLength(1);
      expect(round.filter((w) => w === 'STORE')).toHaveLength(3);
    }
  });

  it('a build on a store whose lock a live process holds exits 5 naming it, and publishes nothing', async () => {
    const fx = await sharedFixture();
    const lock = await acquireBuildLock(store);
    try {
      const r = await cli(['index', 'build', '--data', fx.world, '--model', fx.model, '--store', store, '--json-log']);
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(new RegExp(`STORE: another build \\(pid ${process.pid}\\) holds .*build\\.lock`));
      expect(lastLine(r.stdout)).toBe('nothing published; CURRENT is (none)');
    } finally {
      await lock.release();
    }
    expect(await fs.readdir(store)).toEqual([]);
  });

  it('gc waits for no build: it refuses while a live build holds the lock', async () => {
    const lock = await acquireBuildLock(store);
    await expect(collectGarbage(store, 1)).rejects.toMatchObject({ code: 'STORE' });
    await lock.release();
    await expect(collectGarbage(store, 1)).resolves.toMatchObject({ removed: [] });
  });
});
