/**
 * `twotower eval`: one run (a published version, or a model folder under a protocol), optionally
 * compared with a base run on the same users, gated, and written as an HTML report. Returns the
 * text to print and the failed gates; the CLI decides the exit code.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TwoTowerError } from '../../shared/errors.js';
import { MANIFEST_FILE } from '../manifest.js';
import type { TrainOptions } from '../train/trainModel.js';
import { compareRuns, type Comparison } from './compareRuns.js';
import type { EvalRun } from './evalTypes.js';
import { evaluateModelOn, prepareProtocol } from './evaluateModel.js';
import { evaluateStoreVersion, loadHoldout } from './evaluateStore.js';
import { formatComparison } from './formatComparison.js';
import { formatRun, runSummary } from './formatRun.js';
import { checkGates, parseGate, type GateResult } from './gates.js';
import { trainOnSplit } from './protocolTraining.js';
import { parseProtocol } from './protocols/splitProtocol.js';
import { renderReport } from './report/renderReport.js';

export interface EvalCommandOptions {
  data: string;
  store?: string;
  version?: string;
  model?: string;
  protocol?: string;
  protocolSeed?: number;
  future?: number;
  session?: number;
  minRating?: number;
  candidates?: number;
  maxUsers?: number;
  allowLeak?: boolean;
  /** Train a starter model on the protocol's training split into --model first. */
  train?: boolean;
  trainOptions?: TrainOptions;
  compare?: string;
  gates?: string[];
  resamples?: number;
  report?: string;
  json?: boolean;
  log?: (line: string) => void;
}

export interface EvalCommandResult {
  output: string;
  run: EvalRun;
  base?: EvalRun;
  comparison?: Comparison;
  gates: GateResult[];
}

export async function runEvalCommand(o: EvalCommandOptions): Promise<EvalCommandResult> {
  const gates = (o.gates ?? []).map(parseGate);
  const log = o.log ?? (() => undefined);
  if (o.store && o.model) throw new TwoTowerError('BAD_INPUT', 'give either --store (evaluate a published version) or --model (evaluate a model folder under a protocol), not both');
  if (!o.store && !o.model) throw new TwoTowerError('BAD_INPUT', 'nothing to evaluate: give --store STORE (a published version) or --model MODELDIR with --protocol');

  let run: EvalRun;
  let base: EvalRun | undefined;
  if (o.model) {
    const protocol = parseProtocol(o.protocol ?? 'random');
    const p = await prepareProtocol(o.data, { protocol, seed: o.protocolSeed, future: o.future, session: o.session, minRating: o.minRating, maxUsers: o.maxUsers });
    log(`protocol ${protocol}: ${p.split.train.length} training rows, ${p.split.validation.length} validation rows, ${p.users.ids.length} users to evaluate`);
    if (o.train) {
      const t0 = performance.now();
      const r = await trainOnSplit(p.data, p.split, o.model, { ...(o.trainOptions ?? {}), log });
      log(`trained ${r.modelVersion} into ${o.model} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const mopts = { candidates: o.candidates, allowLeak: o.allowLeak };
    run = await evaluateModelOn(p, o.model, mopts);
    if (o.compare) {
      if (!isModelFolder(o.compare)) throw new TwoTowerError('BAD_INPUT', `--compare ${o.compare}: with --model, compare with another model folder (no ${MANIFEST_FILE} there)`);
      base = await evaluateModelOn(p, o.compare, mopts);
    }
  } else {
    const holdout = await loadHoldout(o.data);
    run = await evaluateStoreVersion({ store: o.store!, data: o.data, version: o.version }, holdout);
    if (o.compare) {
      if (isModelFolder(o.compare))
        throw new TwoTowerError('BAD_INPUT', `--compare ${o.compare}: with --store, compare with another version of the store (a model folder is compared with --model)`);
      base = await evaluateStoreVersion({ store: o.store!, data: o.data, version: o.compare }, holdout);
    }
  }
  const comparison = base ? compareRuns(run, base, { resamples: o.resamples }) : undefined;
  const gateResults = checkGates(gates, run, comparison);
  if (o.report) {
    await writeFile(o.report, renderReport({ run, base, comparison, gates: gateResults }));
    log(`report written to ${o.report}`);
  }

  let output: string;
  if (o.json) {
    output = JSON.stringify(
      {
        ...runSummary(run),
        ...(base && comparison ? { compare: { base: runSummary(base), comparison } } : {}),
        gates: gateResults.map((g) => ({ gate: g.gate.text, actual: g.actual, passed: g.passed })),
      },
      null,
      2,
    );
  } else {
    const parts = [formatRun(run)];
    if (base && comparison) parts.push('', 'base:', formatRun(base), '', formatComparison(comparison));
    if (gateResults.length) parts.push('', ...gateResults.map((g) => g.detail));
    output = parts.join('\n');
  }
  return { output, run, base, comparison, gates: gateResults };
}

function isModelFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, MANIFEST_FILE));
}
