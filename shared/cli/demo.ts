/**
 * `npm start`: the whole product on the embedded default, with no external service and no
 * download: generate a world → train → build and publish an index → evaluate → serve.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildIndex } from '../../indexer/buildIndex.js';
import { evaluateVersion, formatEvalTable } from '../../models/eval/evaluate.js';
import { trainModel } from '../../models/train/trainModel.js';
import { serve } from '../../ranker/serve.js';
import { generateWorld, writeWorld } from '../data/generate.js';
import { gc } from '../store/versionStore.js';

export interface DemoOptions {
  dir: string;
  items: number;
  users: number;
  port: number;
  serve: boolean;
}

export async function runDemo(o: DemoOptions): Promise<void> {
  const dataDir = path.join(o.dir, 'world');
  const modelDir = path.join(o.dir, 'model');
  const store = path.join(o.dir, 'store');
  const say = (s: string) => console.log(`[demo] ${s}`);
  const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const r = await fn();
    say(`${label} took ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    return r;
  };

  const world = await timed('generate', async () => {
    const w = generateWorld({ items: o.items, users: o.users, seed: 42 });
    await fs.rm(dataDir, { recursive: true, force: true });
    await writeWorld(dataDir, w);
    return w;
  });
  say(`world: ${world.items.length} items, ${world.users.length} users, ${world.interactions.length} interactions, ${world.holdout.length} held out`);

  const trained = await timed('train', () =>
    trainModel({ items: world.items, users: world.users, interactions: world.interactions }, modelDir, { seed: 42, log: (l) => say(`train: ${l}`) }),
  );
  say(`model ${trained.modelVersion}: ${JSON.stringify(trained.validation)}`);

  const built = await timed('index build', () => buildIndex({ data: dataDir, model: modelDir, store }));
  const t = built.manifest?.timingsMs ?? {};
  const itemsPerSec = t.embed_items ? Math.round((world.items.length / t.embed_items) * 1000) : NaN;
  say(`published ${built.version}: embed items ${t.embed_items} ms (${itemsPerSec} items/s), HNSW build ${t.hnsw_build} ms, user top-K ${t.user_topk} ms`);
  for (const c of built.manifest?.checks ?? []) say(`check ${c.name} = ${c.value} (${c.op} ${c.threshold}) ${c.passed ? 'ok' : 'FAILED'}`);
  const removed = await gc(store, 3);
  if (removed.length) say(`gc removed ${removed.length} old version(s)`);

  const report = await timed('eval', () => evaluateVersion({ store, data: dataDir }));
  console.log(formatEvalTable(report));

  if (!o.serve) return;
  const server = await serve({ store, port: o.port, logger: false });
  const userId = world.users[0].userId;
  const session = world.interactions.filter((r) => r.userId === world.users[1].userId).slice(-3).map((r) => r.itemId);
  const body = JSON.stringify({ userId, k: 10, session: { items: session } });
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const res = await fetch(`${server.url}/v1/rank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.json();
    latencies.push(performance.now() - t0);
  }
  latencies.sort((a, b) => a - b);
  say(`20 calls of POST /v1/rank over HTTP: p50 ${latencies[10].toFixed(2)} ms, max ${latencies[19].toFixed(2)} ms`);
  say(`ranker listening on ${server.url} — try:`);
  console.log(`curl -s -X POST ${server.url}/v1/rank -H 'content-type: application/json' -d '${body}'`);
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
