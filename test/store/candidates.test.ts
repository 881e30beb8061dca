import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LmdbCandidateStore, LmdbCandidateWriter } from '../../shared/candidates/lmdbCandidateStore.js';
import { LmdbUserStore, LmdbUserWriter } from '../../shared/candidates/lmdbUserStore.js';
import { packCandidates, unpackCandidates } from '../../shared/candidates/packing.js';

describe('candidate packing', () => {
  it('round-trips indices and scores, including from an unaligned buffer', () => {
    const items = Int32Array.from([5, 3, 99, 0]);
    const scores = Float32Array.from([0.9, 0.5, -0.25, 0]);
    const packed = packCandidates(items, scores);
    const shifted = new Uint8Array(packed.length + 1);
    shifted.set(packed, 1);
    const back = unpackCandidates(shifted.subarray(1));
    expect(Array.from(back.items)).toEqual([5, 3, 99, 0]);
    expect(Array.from(back.scores)).toEqual(Array.from(scores));
  });

  it('packs a subarray view without leaking its neighbours', () => {
    const all = Int32Array.from([1, 2, 3, 4]);
    const s = Float32Array.from([1, 2, 3, 4]);
    const back = unpackCandidates(packCandidates(all.subarray(1, 3), s.subarray(1, 3)));
    expect(Array.from(back.items)).toEqual([2, 3]);
    expect(Array.from(back.scores)).toEqual([2, 3]);
  });
});

describe('LMDB stores', () => {
  it('write many users, read them back, unknown users are null', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-lmdb-'));
    const w = new LmdbCandidateWriter(path.join(dir, 'c.lmdb'));
    for (let u = 0; u < 25_000; u++) await w.put(`u${u}`, Int32Array.from([u, u + 1]), Float32Array.from([1, 0.5]));
    await w.close();
    const uw = new LmdbUserWriter(path.join(dir, 'u.lmdb'));
    await uw.put('u7', { user: { userId: 'u7', categorical: { cat_country: 'fr' }, numeric: { num_activity: 2 } }, history: ['i1', 'i2'] });
    await uw.close();

    const r = new LmdbCandidateStore(path.join(dir, 'c.lmdb'));
    expect(Array.from(r.get('u24999')?.items ?? [])).toEqual([24999, 25000]);
    expect(r.get('nobody')).toBeNull();
    // Each result owns its data: a later read (lmdb reuses its read buffer) must not change it.
    const first = r.get('u3');
    const second = r.get('u4');
    expect(Array.from(first?.items ?? [])).toEqual([3, 4]);
    expect(Array.from(first?.scores ?? [])).toEqual([1, 0.5]);
    expect(Array.from(second?.items ?? [])).toEqual([4, 5]);
    await r.close();

    // A value larger than lmdb's reusable read buffer takes another path inside lmdb.
    const big = Int32Array.from({ length: 300_000 }, (_, i) => i * 3);
    const bigScores = Float32Array.from({ length: 300_000 }, (_, i) => i / 7);
    const wb = new LmdbCandidateWriter(path.join(dir, 'big.lmdb'));
    await wb.put('small', Int32Array.from([1]), Float32Array.from([2]));
    await wb.put('big', big, bigScores);
    await wb.close();
    const rb = new LmdbCandidateStore(path.join(dir, 'big.lmdb'));
    const gotBig = rb.get('big');
    const gotSmall = rb.get('small');
    expect(gotBig?.items).toEqual(big);
    expect(gotBig?.scores).toEqual(bigScores);
    expect(Array.from(gotSmall?.items ?? [])).toEqual([1]);
    expect(Array.from(gotSmall?.scores ?? [])).toEqual([2]);
    await rb.close();
    const ur = new LmdbUserStore(path.join(dir, 'u.lmdb'));
    expect(ur.get('u7')?.history).toEqual(['i1', 'i2']);
    expect(ur.get('u8')).toBeNull();
    await ur.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
});
