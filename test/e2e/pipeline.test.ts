/**
 * The walking skeleton end to end, through the real CLI and a real socket:
 * generate → train → index build → serve → eval.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInteractions } from '../../shared/data/readers.js';
import type { InteractionRow } from '../../shared/data/types.js';
import { serve } from '../../ranker/serve.js';
import { cli } from './helpers.js';

let root: string;
let world: string;
let store: string;
let model: string;
let interactions: InteractionRow[];
let server: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'tt-e2e-'));
  world = path.join(root, 'world');
  model = path.join(root, 'model');
  store = path.join(root, 'store');
  const gen = cli(['generate', '--out', world, '--items', '2000', '--users', '800', '--seed', '7']);
  expect(gen.code, gen.stderr).toBe(0);
  const train = cli(['train', '--data', world, '--out', model, '--seed', '7']);
  expect(train.code, train.stderr).toBe(0);
  const build = cli(['index', 'build', '--data', world, '--model', model, '--store', store, '--top-k', '100']);
  expect(build.code, build.stderr).toBe(0);
  expect(build.stdout).toMatch(/^published v\d{8}T\d{6}Z-[0-9a-f]{6}/m);
  interactions = await loadInteractions(path.join(world, 'interactions.arrow'));
  server = await serve({ store, port: 0, logger: false });
});

afterAll(async () => {
  await server?.close();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

async function rank(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/v1/rank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

interface RankItem {
  itemId: string;
  score: number;
}

describe('end to end', () => {
  it('lists the published version as current', () => {
    const list = cli(['index', 'list', '--store', store]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^\*\s+v\d{8}T/m);
  });

  it('serves precomputed lists without seen items and honours exclude', async () => {
    const userId = interactions[0].userId;
    const seen = new Set(interactions.filter((r) => r.userId === userId).map((r) => r.itemId));
    const first = await rank({ userId, k: 20 });
    expect(first.status).toBe(200);
    expect(first.json.source).toBe('precomputed');
    const items = first.json.items as RankItem[];
    expect(items).toHaveLength(20);
    for (const it of items) expect(seen.has(it.itemId)).toBe(false);
    for (let i = 1; i < items.length; i++) expect(items[i - 1].score).toBeGreaterThanOrEqual(items[i].score);

    const excluded = items.slice(0, 5).map((i) => i.itemId);
    const second = await rank({ userId, k: 20, exclude: excluded });
    const ids = (second.json.items as RankItem[]).map((i) => i.itemId);
    expect(ids).toHaveLength(20);
    for (const e of excluded) expect(ids).not.toContain(e);
    expect(second.json.indexVersion).toMatch(/^v\d{8}T/);
  });

  it('uses the session: different session items change the ranking', async () => {
    const userId = interactions[0].userId;
    const others = interactions.filter((r) => r.userId !== userId);
    const a = await rank({ userId, k: 20, session: { items: others.slice(0, 5).map((r) => r.itemId) } });
    const b = await rank({ userId, k: 20, session: { items: others.slice(-5).map((r) => r.itemId) } });
    expect(a.status).toBe(200);
    const idsA = (a.json.items as RankItem[]).map((i) => i.itemId).join(',');
    const idsB = (b.json.items as RankItem[]).map((i) => i.itemId).join(',');
    expect(idsA).not.toEqual(idsB);
  });

  it('answers an unknown user from cold start or popularity', async () => {
    const none = await rank({ userId: 'no-such-user', k: 10 });
    expect(none.status).toBe(200);
    expect(['popular', 'cold_start']).toContain(none.json.source);
    expect(none.json.items as RankItem[]).toHaveLength(10);
    const withSession = await rank({ userId: 'no-such-user', k: 10, session: { items: [interactions[0].itemId] } });
    expect(withSession.json.source).toBe('cold_start');
  });

  it('rejects a malformed request with a 400 that names the field', async () => {
    const r = await rank({ userId: 'u1', k: 0 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toMatch(/k/);
    const missing = await rank({ k: 5 });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.json)).toMatch(/userId/);
  });

  it('the trained model beats popularity on Recall@10 by a clear margin', () => {
    const ev = cli(['eval', '--store', store, '--data', world, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const report = JSON.parse(ev.stdout) as { users: number; rows: Record<string, Record<string, number>> };
    expect(report.users).toBeGreaterThan(500);
    const model = report.rows.retrieval['recall@10'];
    const pop = report.rows.popularity['recall@10'];
    expect(model).toBeGreaterThan(pop * 1.5);
    expect(model).toBeGreaterThan(pop + 0.02);
  });

  it('a malformed input file fails with file, row and column and exit code 2', async () => {
    const bad = path.join(root, 'bad');
    await fs.mkdir(bad);
    await fs.writeFile(path.join(bad, 'items.csv'), 'item_id,category\ni1,a\ni2,b\n');
    await fs.writeFile(path.join(bad, 'interactions.csv'), 'user_id,item_id,timestamp\nu1,i1,100\nu1,i2,not-a-time\n');
    const r = cli(['index', 'build', '--data', bad, '--model', model, '--store', path.join(root, 'store2')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/interactions\.csv/);
    expect(r.stderr).toMatch(/row 2/);
    expect(r.stderr).toMatch(/timestamp/);
    await expect(fs.access(path.join(root, 'store2', 'CURRENT'))).rejects.toThrow();
  });
});
