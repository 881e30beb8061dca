import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VersionReloader, type ReloadOutcome } from '../../ranker/reloader.js';
import { VersionHolder } from '../../ranker/versionHolder.js';
import { watchCurrent } from '../../ranker/watchCurrent.js';
import type { LoadedVersion } from '../../shared/store/types.js';

const V1 = 'v20260101T000000Z-aaaaaa';
const V2 = 'v20260102T000000Z-bbbbbb';
const V3 = 'v20260103T000000Z-cccccc';

let store: string;
beforeEach(async () => {
  store = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-reload-'));
});
afterEach(async () => {
  await fs.rm(store, { recursive: true, force: true });
});

/** CURRENT written the way flipCurrent does it (rename over), without needing a real version. */
async function point(id: string): Promise<void> {
  await fs.writeFile(path.join(store, 'CURRENT.tmp'), `${id}\n`);
  await fs.rename(path.join(store, 'CURRENT.tmp'), path.join(store, 'CURRENT'));
}

function fake(id: string) {
  const state = { closed: false };
  return { version: { id, close: async () => void (state.closed = true) } as unknown as LoadedVersion, state };
}

const quiet = { info() {}, error() {} };

describe('VersionReloader', () => {
  it('replace loads a fresh copy of the version serving, which a plain reload leaves alone', async () => {
    const first = fake(V1);
    const holder = new VersionHolder(first.version);
    const loads: string[] = [];
    const reloader = new VersionReloader({
      store,
      holder,
      load: async (_s, id) => {
        loads.push(id);
        return fake(id).version;
      },
      warm: async () => {},
      log: quiet,
    });
    await point(V1);
    expect(await reloader.reload()).toEqual({ status: 'unchanged', indexVersion: V1 });
    expect(await reloader.reload({ force: true })).toEqual({ status: 'unchanged', indexVersion: V1 });
    expect(loads).toEqual([]);
    expect(await reloader.reload({ replace: true })).toEqual({ status: 'swapped', indexVersion: V1, previousVersion: V1 });
    expect(loads).toEqual([V1]);
    expect(holder.get()).not.toBe(first.version);
    expect(holder.get()?.id).toBe(V1);
    expect(first.state.closed).toBe(true);
  });

  it('swaps in what CURRENT names, refuses a version that fails to warm, and does not retry it unforced', async () => {
    const v1 = fake(V1);
    const holder = new VersionHolder(v1.version);
    const loads: string[] = [];
    const closedOnRefusal: string[] = [];
    const outcomes: ReloadOutcome[] = [];
    const reloader = new VersionReloader({
      store,
      holder,
      load: async (_s, id) => {
        loads.push(id);
        const v = fake(id);
        return { ...v.version, close: async () => void closedOnRefusal.push(id) } as LoadedVersion;
      },
      warm: async (v) => {
        if (v.id === V3) throw new Error('warm-up degraded');
      },
      log: quiet,
      onOutcome: (o) => outcomes.push(o),
    });

    await point(V1);
    expect(await reloader.reload()).toEqual({ status: 'unchanged', indexVersion: V1 });
    await point(V2);
    expect(await reloader.reload()).toEqual({ status: 'swapped', indexVersion: V2, previousVersion: V1 });
    expect(holder.get()!.id).toBe(V2);
    await new Promise((r) => setImmediate(r));
    expect(v1.state.closed).toBe(true);

    await point(V3);
    expect(await reloader.reload()).toEqual({ status: 'refused', versionId: V3, reason: 'warm-up degraded' });
    expect(holder.get()!.id).toBe(V2);
    expect(closedOnRefusal).toEqual([V3]); // a refused version's resources are released
    expect(await reloader.reload()).toMatchObject({ status: 'refused', versionId: V3 });
    expect(loads).toEqual([V2, V3]); // not loaded again without force
    await reloader.reload({ force: true });
    expect(loads).toEqual([V2, V3, V3]);
    expect(outcomes.map((o) => o.status)).toEqual(['swapped', 'refused', 'refused']);
  });

  it('runs reloads one at a time', async () => {
    const holder = new VersionHolder(fake(V1).version);
    let active = 0;
    let most = 0;
    const reloader = new VersionReloader({
      store,
      holder,
      load: async (_s, id) => {
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        return fake(id).version;
      },
      warm: async () => {},
      log: quiet,
    });
    await point(V2);
    const results = await Promise.all([reloader.reload(), reloader.reload(), reloader.reload()]);
    expect(most).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['swapped', 'unchanged', 'unchanged']);
  });

  it('after close, loads nothing more', async () => {
    const holder = new VersionHolder(fake(V1).version);
    const reloader = new VersionReloader({ store, holder, load: async (_s, id) => fake(id).version, warm: async () => {}, log: quiet });
    await reloader.close();
    await point(V2);
    expect(await reloader.reload()).toEqual({ status: 'unchanged', indexVersion: V1 });
    expect(holder.get()!.id).toBe(V1);
  });
});

describe('watchCurrent', () => {
  it('reports each new CURRENT once, not the one it started with', async () => {
    await point(V1);
    const seen: string[] = [];
    const w = watchCurrent(store, (id) => seen.push(id), { initial: V1, pollMs: 100, debounceMs: 10 });
    try {
      await new Promise((r) => setTimeout(r, 250));
      expect(seen).toEqual([]);
      await point(V2);
      const until = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 250));
      expect(seen).toEqual([V2]);
    } finally {
      w.close();
    }
  });

  it('notices a change by polling alone (a store where fs.watch cannot see)', async () => {
    // The folder does not exist yet: fs.watch fails and only the poll remains.
    const later = path.join(store, 'later');
    const seen: string[] = [];
    const w = watchCurrent(later, (id) => seen.push(id), { pollMs: 50 });
    try {
      await fs.mkdir(later);
      await fs.writeFile(path.join(later, 'CURRENT'), `${V2}\n`);
      const until = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([V2]);
    } finally {
      w.close();
    }
  });
});
