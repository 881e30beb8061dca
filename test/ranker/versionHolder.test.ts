import { describe, expect, it } from 'vitest';
import type { LoadedVersion } from '../../shared/store/types.js';
import { VersionHolder } from '../../ranker/versionHolder.js';

/** Only id and close matter to the holder. */
function fakeVersion(id: string, closeError?: Error) {
  const state = { closed: 0 };
  const version = {
    id,
    async close() {
      state.closed++;
      if (closeError) throw closeError;
    },
  } as unknown as LoadedVersion;
  return { version, state };
}

describe('VersionHolder', () => {
  it('hands out leases on the serving version and none when empty', () => {
    expect(new VersionHolder().acquire()).toBeNull();
    const a = fakeVersion('a');
    const holder = new VersionHolder(a.version);
    const lease = holder.acquire()!;
    expect(lease.version).toBe(a.version);
    expect(holder.leases(a.version)).toBe(1);
    lease.release();
    lease.release(); // a second release must not take another request's lease
    expect(holder.leases(a.version)).toBe(0);
  });

  it('closes a replaced version only after its last lease is released', async () => {
    const a = fakeVersion('a');
    const b = fakeVersion('b');
    const holder = new VersionHolder(a.version);
    const first = holder.acquire()!;
    const second = holder.acquire()!;
    let drained = false;
    const swapped = holder.swap(b.version).then(() => {
      drained = true;
    });
    // New requests get the new version at once; the old one stays open for those holding it.
    expect(holder.acquire()!.version).toBe(b.version);
    expect(holder.retiring).toBe(1);
    first.release();
    await Promise.resolve();
    expect(a.state.closed).toBe(0);
    second.release();
    await swapped;
    expect(drained).toBe(true);
    expect(a.state.closed).toBe(1);
    expect(holder.retiring).toBe(0);
    expect(b.state.closed).toBe(0);
  });

  it('closes an unheld version at once, and each version once', async () => {
    const a = fakeVersion('a');
    const holder = new VersionHolder(a.version);
    await holder.swap(null);
    expect(a.state.closed).toBe(1);
    expect(holder.get()).toBeNull();
    await holder.swap(null);
    expect(a.state.closed).toBe(1);
  });

  it('swapping in the serving version is a no-op', async () => {
    const a = fakeVersion('a');
    const holder = new VersionHolder(a.version);
    await holder.swap(a.version);
    expect(a.state.closed).toBe(0);
    expect(holder.get()).toBe(a.version);
  });

  it('reports a close error to its handler, not to the swap', async () => {
    const boom = new Error('boom');
    const a = fakeVersion('a', boom);
    const seen: unknown[] = [];
    const holder = new VersionHolder(a.version, (err) => seen.push(err));
    await expect(holder.swap(fakeVersion('b').version)).resolves.toBeUndefined();
    expect(seen).toEqual([boom]);
  });
});
