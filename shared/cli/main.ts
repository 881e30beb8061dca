/**
 * The `twotower` command line: one entry point for the three roles (indexer, ranker, evaluation)
 * and the data and training steps that feed them.
 */
import { Command, CommanderError, Option } from 'commander';
import path from 'node:path';
import { EXIT_CODES } from '../errors.js';
import { action, floatOption, intOption } from './run.js';
import { DEFAULTS as BUILD_DEFAULTS } from '../../indexer/defaults.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('twotower')
    .description('Two-tower retrieval and ranking: generate or import data, train, index nightly, serve, evaluate.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('generate')
    .description('Write a seeded synthetic world with planted structure (items, users, interactions, holdout as Arrow IPC).')
    .requiredOption('--out <dir>', 'output folder')
    .option('--items <n>', 'number of items', intOption('items'), 5000)
    .option('--users <n>', 'number of users', intOption('users'), 2000)
    .option('--seed <s>', 'random seed', intOption('seed'), 42)
    .option('--interactions-per-user <n>', 'mean interactions per user', intOption('interactions-per-user'), 40)
    .action(
      action(async (o: { out: string; items: number; users: number; seed: number; interactionsPerUser: number }) => {
        const { generateWorld, writeWorld } = await import('../data/generate.js');
        const t0 = performance.now();
        const world = generateWorld({ items: o.items, users: o.users, seed: o.seed, interactionsPerUser: o.interactionsPerUser });
        await writeWorld(o.out, world);
        console.log(
          `generated ${world.items.length} items, ${world.users.length} users, ${world.interactions.length} interactions, ${world.holdout.length} held out in ${o.out} (${Math.round(performance.now() - t0)} ms)`,
        );
      }),
    );

  program
    .command('import')
    .description('Convert an external data set into the twotower layout.')
    .command('movielens')
    .description('Import MovieLens (ml-100k, ml-1m, ml-latest-small, ml-20m/25m), detected from the files in --src.')
    .requiredOption('--src <dir>', 'folder with the MovieLens files')
    .requiredOption('--out <dir>', 'output folder')
    .option('--holdout-per-user <n>', 'latest interactions per user held out for evaluation', intOption('holdout-per-user'), 3)
    .action(
      action(async (o: { src: string; out: string; holdoutPerUser: number }) => {
        const { importMovielens } = await import('../data/movielens.js');
        const r = await importMovielens(o.src, o.out, { holdoutPerUser: o.holdoutPerUser });
        console.log(`imported ${JSON.stringify(r)} into ${o.out}`);
      }),
    );

  program
    .command('train')
    .description('Train a two-tower model and a ranker on a data folder and write a model folder (manifest + ONNX).')
    .requiredOption('--data <dir>', 'data folder (items, users, interactions)')
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--dim <n>', 'embedding dimension (default: 64 with the full-catalog objective, 32 in-batch)', intOption('dim'))
    .option('--epochs <n>', 'maximum epochs (early stopping may end sooner)', intOption('epochs'))
    .option('--patience <n>', 'epochs without a better validation recall before stopping', intOption('patience'))
    .option('--batch-size <n>', 'training batch size (in-batch objective)', intOption('batch-size'))
    .option('--lr <x>', 'learning rate', floatOption('lr'))
    .option('--temperature <x>', 'softmax temperature', floatOption('temperature'))
    .option('--max-history <n>', 'most recent items the user tower reads', intOption('max-history'))
    .addOption(new Option('--objective <o>', 'softmax over the whole catalog, in-batch sampled softmax, or chosen by catalog size').choices(['auto', 'full', 'in-batch']))
    .addOption(new Option('--history-mode <m>', "what the user tower sees for a target: items 'before' it, or the user's 'others'").choices(['before', 'others']))
    .option('--weight-decay <x>', 'decoupled weight decay', floatOption('weight-decay'))
    .option('--popularity-boost <x>', 'full objective: popularity boost learned by training on logits minus x·log q(item)', floatOption('popularity-boost'))
    .option('--ema <x>', 'decay of the moving average of the weights used for validation and the model (0: none)', floatOption('ema'))
    .option('--ensemble <n>', "seed ensemble: train n members (seeds seed, seed+1, …) and export them as one model of n × dim (default: 2 for the full objective with the 'others' history, else 1)", intOption('ensemble'))
    .option('--seed <s>', 'random seed', intOption('seed'), 42)
    .addOption(new Option('--protocol <p>', "train on an evaluation protocol's training split (then `eval --model` checks it)").choices(['random', 'temporal']))
    .option('--protocol-seed <s>', 'protocol seed (random: default 2020)', intOption('protocol-seed'))
    .option('--future <n>', 'temporal protocol: latest interactions per user to predict', intOption('future'))
    .option('--session <n>', 'protocol session length', intOption('session'))
    .option('--min-rating <x>', 'protocol: ratings at or above are kept (random: default 3)', floatOption('min-rating'))
    .action(
      action(async (o: TrainCli) => {
        const { loadTrainingData } = await import('../data/loadTrainingData.js');
        const { trainModel } = await import('../../models/train/trainModel.js');
        const log = (line: string): void => void process.stderr.write(line + '\n');
        const topts = {
          dim: o.dim,
          epochs: o.epochs,
          patience: o.patience,
          batchSize: o.batchSize,
          lr: o.lr,
          temperature: o.temperature,
          maxHistory: o.maxHistory,
          objective: o.objective,
          historyMode: o.historyMode,
          weightDecay: o.weightDecay,
          popularityBoost: o.popularityBoost,
          ema: o.ema,
          ensemble: o.ensemble,
          seed: o.seed,
          log,
        };
        let r;
        if (o.protocol) {
          const { trainOnProtocol } = await import('../../models/eval/protocolTraining.js');
          const popts = { seed: o.protocolSeed, future: o.future, session: o.session, minRating: o.minRating };
          ({ result: r } = await trainOnProtocol(o.data, o.out, o.protocol, popts, topts));
        } else {
          r = await trainModel(await loadTrainingData(o.data), o.out, topts);
        }
        console.log(`trained model ${r.modelVersion} into ${o.out}: ${JSON.stringify({ validation: r.validation, timingsMs: r.timingsMs })}`);
      }),
    );

  const index = program.command('index').description('Build, list, roll back and clean index versions.');
  index
    .command('build')
    .description(
      'Embed the catalog and users, build HNSW, precompute per-user top-K, validate, publish a new version. ' +
        'Exit codes: 0 published, 2 bad input, 3 model contract, 4 validation failed (nothing published), 5 store (e.g. locked), 1 internal error.',
    )
    .requiredOption('--data <dir>', 'data folder (items, users, interactions)')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--store <dir>', 'version store folder')
    .option('--top-k <n>', 'candidates per user', intOption('top-k'), BUILD_DEFAULTS.topK)
    .option('--batch-size <n>', 'rows per tower call and users per exact-search call', intOption('batch-size'), BUILD_DEFAULTS.batchSize)
    .option('--m <n>', 'HNSW M (links per node)', intOption('m'), BUILD_DEFAULTS.M)
    .option('--ef-construction <n>', 'HNSW efConstruction', intOption('ef-construction'), BUILD_DEFAULTS.efConstruction)
    .option('--ef <n>', 'HNSW query ef (at least top-k)', intOption('ef'), BUILD_DEFAULTS.ef)
    .addOption(new Option('--retrieval <kind>', 'per-user top-K by exact search or HNSW (auto: by a cost estimate)').choices(['auto', 'exact', 'hnsw']).default('auto'))
    .option('--threads <n>', 'worker threads for HNSW queries and onnxruntime (default: all cores)', intOption('threads'))
    .addOption(new Option('--device <d>', 'ONNX execution provider (cuda fails if unavailable; auto falls back to cpu)').choices(['cpu', 'cuda', 'auto']).default('cpu'))
    .option('--min-recall <x>', 'validation: minimum ANN recall@K against exact', floatOption('min-recall'), BUILD_DEFAULTS.minRecall)
    .option('--min-coverage <x>', 'validation: minimum catalog coverage of the candidate lists', floatOption('min-coverage'), BUILD_DEFAULTS.minCoverage)
    .option('--recall-sample <n>', 'validation: users sampled for the recall check', intOption('recall-sample'), BUILD_DEFAULTS.recallSample)
    .option('--force', 'publish even if a check fails', false)
    .option('--dry-run', 'validate inputs and the model contract, build nothing', false)
    .option('--json-log', 'JSON log lines on stderr even on a terminal', false)
    .action(
      action(async (o: IndexBuildCli) => {
        const { buildIndex } = await import('../../indexer/buildIndex.js');
        const { createLogger } = await import('../log.js');
        const { readCurrent } = await import('../store/versionStore.js');
        const store = path.resolve(o.store);
        try {
          const r = await buildIndex({
            data: o.data,
            model: o.model,
            store: o.store,
            topK: o.topK,
            batchSize: o.batchSize,
            M: o.m,
            efConstruction: o.efConstruction,
            ef: o.ef,
            retrieval: o.retrieval,
            threads: o.threads,
            device: o.device,
            minRecall: o.minRecall,
            minCoverage: o.minCoverage,
            recallSample: o.recallSample,
            force: o.force,
            dryRun: o.dryRun,
            logger: createLogger({ json: o.jsonLog }),
          });
          if (r.dryRun) {
            const d = r.dryRun;
            console.log(`dry run: inputs and model ${d.model} are valid (${d.items} items, ${d.users} users, ${d.interactions} interactions); nothing built`);
          } else if (r.manifest) {
            const m = r.manifest;
            const failed = m.checks.filter((c) => !c.passed).map((c) => c.name);
            console.log(
              `published ${r.version} in ${store} (${m.counts.items} items, ${m.counts.users} users, ` +
                `${m.checks.length - failed.length}/${m.checks.length} checks passed${failed.length ? `, FORCED past ${failed.join(', ')}` : ''}, ` +
                `${((m.timingsMs.total ?? 0) / 1000).toFixed(1)} s)`,
            );
          }
        } catch (err) {
          // The last stdout line always says what is serving, so a scheduler's log shows it.
          const current = await readCurrent(store).catch(() => null);
          if (!o.dryRun) console.log(`nothing published; CURRENT is ${current ?? '(none)'}`);
          throw err;
        }
      }),
    );
  index
    .command('list')
    .description('List versions, marking the current one.')
    .requiredOption('--store <dir>', 'version store folder')
    .action(
      action(async (o: { store: string }) => {
        const { describeVersions } = await import('../store/describeVersions.js');
        console.log(await describeVersions(o.store));
      }),
    );
  index
    .command('rollback')
    .description('Point CURRENT at the version before it (or --to VERSION). Does not wait for a running build.')
    .requiredOption('--store <dir>', 'version store folder')
    .option('--to <version>', 'version to make current')
    .action(
      action(async (o: { store: string; to?: string }) => {
        const { rollback } = await import('../store/versionStore.js');
        const r = await rollback(o.store, o.to);
        console.log(`CURRENT: ${r.from ?? '(none)'} -> ${r.to}`);
      }),
    );
  index
    .command('gc')
    .description('Delete old versions, keeping the newest N, CURRENT and the version before it, and clean leftovers of dead builds.')
    .requiredOption('--store <dir>', 'version store folder')
    .option('--keep <n>', 'versions to keep', intOption('keep'), 3)
    .option('--dry-run', 'say what would be removed, remove nothing', false)
    .action(
      action(async (o: { store: string; keep: number; dryRun: boolean }) => {
        const { collectGarbage } = await import('../store/versionStore.js');
        const r = await collectGarbage(o.store, o.keep, { dryRun: o.dryRun });
        const verb = o.dryRun ? 'would remove' : 'removed';
        const parts = [r.removed.length ? `${verb} ${r.removed.join(', ')}` : 'no versions to remove'];
        if (r.leftovers.length) parts.push(`${o.dryRun ? 'would clean' : 'cleaned'} ${r.leftovers.join(', ')}`);
        parts.push(`kept ${r.kept.join(', ') || '(none)'}`);
        console.log(parts.join('; '));
      }),
    );

  program
    .command('serve')
    .description('Start the online ranker (POST /v1/rank) on the current version of a store.')
    .requiredOption('--store <dir>', 'version store folder')
    .option('--port <p>', 'port', intOption('port'), 8080)
    .option('--host <h>', 'address to bind', '127.0.0.1')
    .option('--budget-ms <ms>', 'per-request latency budget: past it, answer in retrieval order with degraded: true', intOption('budget-ms'), 20)
    .option('--max-in-flight <n>', 'requests in flight past which /v1 routes shed load with 503 + Retry-After', intOption('max-in-flight'), 64)
    .option('--no-watch', 'do not follow CURRENT (reload only through POST /admin/reload)')
    .option('--micro-batch', 'coalesce ranker and user-tower runs of concurrent requests', false)
    .option('--no-scoring-worker', 'score on the HTTP thread instead of in a worker thread beside it')
    .option('--quiet', 'no log at all (by default: startup, version swaps and errors, not each request)', false)
    .option('--request-log', 'also log every request (two lines each: costs about 15% of the CPU per request)', false)
    .addHelpText('after', '\nPOST /admin/reload needs the bearer token in $TWOTOWER_ADMIN_TOKEN; without it the admin route is closed.')
    .action(
      action(async (o: { store: string; port: number; host: string; budgetMs: number; maxInFlight: number; watch: boolean; microBatch: boolean; scoringWorker: boolean; quiet: boolean; requestLog: boolean }) => {
        const { serve } = await import('../../ranker/serve.js');
        const s = await serve({
          store: o.store,
          port: o.port,
          host: o.host,
          budgetMs: o.budgetMs,
          maxInFlight: o.maxInFlight,
          watch: o.watch,
          microBatch: o.microBatch,
          scoringWorker: o.scoringWorker,
          logger: !o.quiet,
          requestLog: o.requestLog,
        });
        console.log(`ranker listening on ${s.url}`);
        await new Promise<void>((resolve) => {
          const stop = () => void s.close().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );

  program
    .command('eval')
    .description(
      'Offline evaluation: a published version (--store, on the holdout table) or a model folder (--model, under --protocol), ' +
        'with Recall/NDCG/MRR/HitRate/Precision/MAP@10,20,50,100, coverage, Gini, novelty, popularity and random baselines; ' +
        'optionally compared with a base (--compare), gated (--gate) and reported (--report).',
    )
    .requiredOption('--data <dir>', 'data folder')
    .option('--store <dir>', 'version store folder: evaluate a published version on the holdout table')
    .option('--version <id>', 'version to evaluate (default: CURRENT)')
    .option('--model <dir>', 'model folder: evaluate it under --protocol (exact retrieval over all items, ranker, baselines)')
    .addOption(new Option('--protocol <p>', 'with --model: how the log is split').choices(['random', 'temporal']).default('random'))
    .option('--protocol-seed <s>', 'protocol seed (random: default 2020)', intOption('protocol-seed'))
    .option('--future <n>', 'temporal: latest interactions per user to predict (default 3)', intOption('future'))
    .option('--session <n>', 'session length the ranker sees (default 5)', intOption('session'))
    .option('--min-rating <x>', 'ratings at or above are kept (random: default 3)', floatOption('min-rating'))
    .option('--train', "with --model: first train a starter model on the protocol's training split into --model", false)
    .option('--candidates <n>', 'candidates the ranker re-scores per user (default 100)', intOption('candidates'))
    .option('--max-users <n>', 'evaluate a seeded sample of at most this many users', intOption('max-users'))
    .option('--allow-leak', "evaluate a model that was not trained on this protocol's training split", false)
    .option('--compare <versionOrModel>', 'base to compare with on the same users: a version of --store, or a model folder with --model')
    .option('--gate <condition>', 'e.g. "recall@20>=-0.005" ([view.]metric@K OP number; a difference with --compare); repeatable', collect, [])
    .option('--bootstrap <n>', 'bootstrap resamples for --compare intervals', intOption('bootstrap'), 1000)
    .option('--report <file>', 'write a self-contained HTML report')
    .option('--json', 'print JSON instead of tables', false)
    .action(
      action(async (o: EvalCli) => {
        const { runEvalCommand } = await import('../../models/eval/evalCommand.js');
        const { TwoTowerError } = await import('../errors.js');
        const r = await runEvalCommand({
          data: o.data,
          store: o.store,
          version: o.version,
          model: o.model,
          protocol: o.protocol,
          protocolSeed: o.protocolSeed,
          future: o.future,
          session: o.session,
          minRating: o.minRating,
          candidates: o.candidates,
          maxUsers: o.maxUsers,
          allowLeak: o.allowLeak,
          train: o.train,
          compare: o.compare,
          gates: o.gate,
          resamples: o.bootstrap,
          report: o.report,
          json: o.json,
          log: (line) => void process.stderr.write(line + '\n'),
        });
        console.log(r.output);
        const failed = r.gates.filter((g) => !g.passed);
        if (failed.length) throw new TwoTowerError('VALIDATION_FAILED', `${failed.length} of ${r.gates.length} gates failed: ${failed.map((g) => g.gate.text).join('; ')}`);
      }),
    );

  program
    .command('demo')
    .description('The main job on the embedded default: generate a world, train, build and publish an index, serve on localhost.')
    .option('--dir <dir>', 'working folder', '.twotower')
    .option('--items <n>', 'number of items', intOption('items'), 5000)
    .option('--users <n>', 'number of users', intOption('users'), 2000)
    .option('--port <p>', 'port', intOption('port'), 8080)
    .option('--no-serve', 'stop after evaluation instead of serving')
    .action(
      action(async (o: { dir: string; items: number; users: number; port: number; serve: boolean }) => {
        const { runDemo } = await import('./demo.js');
        await runDemo(o);
      }),
    );

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors are bad input.
      return err.exitCode === 0 ? 0 : EXIT_CODES.BAD_INPUT;
    }
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

interface TrainCli {
  data: string;
  out: string;
  dim?: number;
  epochs?: number;
  patience?: number;
  batchSize?: number;
  lr?: number;
  temperature?: number;
  maxHistory?: number;
  objective?: 'auto' | 'full' | 'in-batch';
  historyMode?: 'before' | 'others';
  weightDecay?: number;
  popularityBoost?: number;
  ema?: number;
  ensemble?: number;
  seed: number;
  protocol?: 'random' | 'temporal';
  protocolSeed?: number;
  future?: number;
  session?: number;
  minRating?: number;
}

interface EvalCli {
  data: string;
  store?: string;
  version?: string;
  model?: string;
  protocol: string;
  protocolSeed?: number;
  future?: number;
  session?: number;
  minRating?: number;
  train: boolean;
  candidates?: number;
  maxUsers?: number;
  allowLeak: boolean;
  compare?: string;
  gate: string[];
  bootstrap: number;
  report?: string;
  json: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface IndexBuildCli {
  data: string;
  model: string;
  store: string;
  topK: number;
  batchSize: number;
  m: number;
  efConstruction: number;
  ef: number;
  retrieval: 'auto' | 'exact' | 'hnsw';
  threads?: number;
  device: 'cpu' | 'cuda' | 'auto';
  minRecall: number;
  minCoverage: number;
  recallSample: number;
  force: boolean;
  dryRun: boolean;
  jsonLog: boolean;
}
