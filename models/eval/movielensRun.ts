/**
 * `npm run eval:movielens`: the quality check on real data that the default test run never does.
 * Imports ml-latest-small from ../shared/data (read there, never copied into the repository),
 * trains a starter model on each protocol's training split, evaluates it, and prints both tables
 * with the training times and the published reference numbers for the random protocol.
 *
 *   node dist/models/eval/movielensRun.js [--src DIR] [--work DIR] [--report-dir DIR]
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importMovielens } from '../../shared/data/movielens.js';
import { runEvalCommand } from './evalCommand.js';
import type { EvalRun } from './evalTypes.js';
import { fmt, table } from './formatRun.js';

/** EASE (Steck 2019) and popularity under the random protocol, seed 2020, as measured for the issue. */
const REFERENCE = { ease: { recall: 0.206, ndcg: 0.26 }, popularity: { recall: 0.08, ndcg: 0.116 } };
/** The bar: the two-tower retrieval reaches at least this share of EASE on Recall@10 and NDCG@10. */
const BAR = 0.9;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const src = resolve(arg('src', '../shared/data/ml-latest-small'));
  if (!existsSync(src)) throw new Error(`${src} not found: pass --src with an ml-latest-small folder`);
  const work = resolve(arg('work', join(tmpdir(), 'twotower-movielens')));
  const reportDir = arg('report-dir', work);
  await mkdir(work, { recursive: true });
  const data = join(work, 'data');
  const imported = await importMovielens(src, data);
  console.log(`imported ${src}: ${imported.items} items, ${imported.users} users, ${imported.interactions + imported.holdout} ratings; ${cpus().length} CPUs`);

  const runs: Record<string, { run: EvalRun; trainS: number; cpuS: number }> = {};
  for (const protocol of ['random', 'temporal'] as const) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let trainS = 0;
    let cpuS = 0;
    const r = await runEvalCommand({
      data,
      model: join(work, `model-${protocol}`),
      protocol,
      train: true,
      report: join(reportDir, `report-${protocol}.html`),
      log: (line) => {
        // The evaluator logs "trained … in N s" when training ends: take the times there.
        if (line.startsWith('trained ')) {
          trainS = (performance.now() - t0) / 1000;
          const c = process.cpuUsage(cpu0);
          cpuS = (c.user + c.system) / 1e6;
        }
        if (/^(epoch|early stop|ranker:|towers:)/.test(line)) process.stderr.write(`  [${protocol}] ${line}\n`);
      },
    });
    runs[protocol] = { run: r.run, trainS, cpuS };
    console.log(`\n=== ${protocol} protocol (trained in ${trainS.toFixed(0)} s wall, ${cpuS.toFixed(0)} s CPU) ===\n${r.output}`);
  }

  const random = runs.random.run;
  const m = (name: string, key: string): number => random.methods.find((x) => x.name === name)?.means[key] ?? NaN;
  const rows = [
    ['two-tower retrieval', fmt(m('retrieval', 'recall@10')), fmt(m('retrieval', 'ndcg@10')), ratio(m('retrieval', 'recall@10'), REFERENCE.ease.recall), ratio(m('retrieval', 'ndcg@10'), REFERENCE.ease.ndcg)],
    ['full pipeline (ranker)', fmt(m('pipeline', 'recall@10')), fmt(m('pipeline', 'ndcg@10')), ratio(m('pipeline', 'recall@10'), REFERENCE.ease.recall), ratio(m('pipeline', 'ndcg@10'), REFERENCE.ease.ndcg)],
    ['popularity', fmt(m('popularity', 'recall@10')), fmt(m('popularity', 'ndcg@10')), '', ''],
    ['EASE (reference)', fmt(REFERENCE.ease.recall), fmt(REFERENCE.ease.ndcg), '1.00', '1.00'],
    ['popularity (reference)', fmt(REFERENCE.popularity.recall), fmt(REFERENCE.popularity.ndcg), '', ''],
  ];
  console.log(`\n=== random protocol, seed 2020, against the reference (bar: ${BAR} × EASE) ===`);
  console.log(table(['', 'Recall@10', 'NDCG@10', 'R / EASE', 'N / EASE'], rows).join('\n'));
  const ok = m('retrieval', 'recall@10') >= BAR * REFERENCE.ease.recall && m('retrieval', 'ndcg@10') >= BAR * REFERENCE.ease.ndcg;
  console.log(`bar ${ok ? 'met' : 'NOT met'}: retrieval needs Recall@10 >= ${(BAR * REFERENCE.ease.recall).toFixed(3)} and NDCG@10 >= ${(BAR * REFERENCE.ease.ndcg).toFixed(3)}`);

  const temporal = runs.temporal.run;
  const t = (name: string, key: string): number => temporal.methods.find((x) => x.name === name)?.means[key] ?? NaN;
  console.log(`\n=== temporal protocol: the ranker against retrieval alone ===`);
  console.log(
    table(
      ['', 'Recall@10', 'NDCG@10', 'MRR@10', 'Recall@50'],
      ['retrieval', 'pipeline', 'popularity'].map((v) => [v, fmt(t(v, 'recall@10')), fmt(t(v, 'ndcg@10')), fmt(t(v, 'mrr@10')), fmt(t(v, 'recall@50'))]),
    ).join('\n'),
  );
  console.log(`pipeline ${t('pipeline', 'ndcg@10') > t('retrieval', 'ndcg@10') ? 'beats' : 'does NOT beat'} retrieval on NDCG@10`);
  console.log(`\ntraining: random ${runs.random.trainS.toFixed(0)} s wall / ${runs.random.cpuS.toFixed(0)} s CPU, temporal ${runs.temporal.trainS.toFixed(0)} s wall / ${runs.temporal.cpuS.toFixed(0)} s CPU; reports in ${reportDir}`);
}

function ratio(x: number, ref: number): string {
  return Number.isFinite(x) ? (x / ref).toFixed(2) : '-';
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:movielens: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
