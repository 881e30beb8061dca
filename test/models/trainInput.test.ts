import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InteractionRow, ItemRow } from '../../shared/data/types.js';
import { trainModel } from '../../models/train/trainModel.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'twotower-input-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const item = (id: string): ItemRow => ({ itemId: id, category: null, tags: [], numeric: {} });
const click = (userId: string, itemId: string, timestamp: number): InteractionRow => ({ userId, itemId, timestamp, rating: 1 });

describe('trainModel refuses bad training data', () => {
  it('names the first interaction with an unknown item and counts them all', async () => {
    const out = join(tmp, 'unknown');
    const p = trainModel({ items: [item('a'), item('b')], users: [], interactions: [click('u', 'a', 1), click('u', 'x', 2), click('v', 'y', 3)] }, out);
    await expect(p).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(p).rejects.toThrow("interactions, row 2: item 'x' (user 'u') is not in the catalog; 2 of 3 interactions name unknown items");
    await expect(stat(out)).rejects.toThrow(); // nothing written
  });

  it('refuses an empty catalog, no interactions, duplicate ids and bad options', async () => {
    await expect(trainModel({ items: [], users: [], interactions: [] }, join(tmp, 'x'))).rejects.toThrow('items: the catalog is empty; there is nothing to train on');
    await expect(trainModel({ items: [item('a')], users: [], interactions: [] }, join(tmp, 'x'))).rejects.toThrow('interactions: no interactions');
    await expect(trainModel({ items: [item('a'), item('a')], users: [], interactions: [click('u', 'a', 1)] }, join(tmp, 'x'))).rejects.toThrow("items: item_id 'a' appears more than once");
    await expect(trainModel({ items: [item('a')], users: [], interactions: [click('u', 'a', Number.NaN)] }, join(tmp, 'x'))).rejects.toThrow('interactions, row 1: timestamp NaN is not a finite number');
    await expect(trainModel({ items: [item('a')], users: [], interactions: [click('u', 'a', 1)] }, join(tmp, 'x'), { dim: 0 })).rejects.toThrow('dim must be a positive integer, got 0');
    await expect(trainModel({ items: [item('a')], users: [], interactions: [click('u', 'a', 1)] }, join(tmp, 'x'), { targetPower: 1.5 })).rejects.toThrow('targetPower must be in [0, 1], got 1.5');
  });

  it('trains on a degenerate but valid world (one item per user, no features)', async () => {
    const items = Array.from({ length: 30 }, (_, i) => item(`i${i}`));
    const interactions = Array.from({ length: 200 }, (_, k) => click(`u${k % 40}`, `i${(k * 7) % 30}`, k));
    const r = await trainModel({ items, users: [], interactions }, join(tmp, 'tiny'), { epochs: 2, batchSize: 32, dim: 8 });
    expect(r.modelVersion).toMatch(/^m-/);
    expect((await stat(join(tmp, 'tiny', 'manifest.json'))).isFile()).toBe(true);
  });

  it('trains every epoch when no user has an interaction to validate on', async () => {
    const items = Array.from({ length: 10 }, (_, i) => item(`i${i}`));
    const interactions = Array.from({ length: 50 }, (_, k) => click(`u${k}`, `i${k % 10}`, k));
    const lines: string[] = [];
    const r = await trainModel({ items, users: [], interactions }, join(tmp, 'noval'), { epochs: 3, batchSize: 16, dim: 4, log: (l) => lines.push(l) });
    expect(lines.filter((l) => l.startsWith('epoch ')).length).toBe(3);
    expect(r.validation.validation_users).toBe(0);
  });
});
