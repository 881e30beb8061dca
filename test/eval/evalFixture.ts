/**
 * A small world on disk and two quickly trained models under the random protocol, shared by the
 * compare, gate and report tests (seconds, not minutes: tiny dims and few epochs).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateWorld, writeWorld } from '../../shared/data/generate.js';
import { evaluateModelOn, prepareProtocol, type PreparedProtocol } from '../../models/eval/evaluateModel.js';
import type { EvalRun } from '../../models/eval/evalTypes.js';
import { trainOnSplit } from '../../models/eval/protocolTraining.js';

export interface EvalFixture {
  root: string;
  data: string;
  modelA: string;
  modelB: string;
  prepared: PreparedProtocol;
  runA: EvalRun;
  runB: EvalRun;
  close(): Promise<void>;
}

export async function makeEvalFixture(): Promise<EvalFixture> {
  const root = await mkdtemp(join(tmpdir(), 'tt-eval-'));
  const data = join(root, 'world');
  await writeWorld(data, generateWorld({ items: 400, users: 200, seed: 3, interactionsPerUser: 30 }));
  const prepared = await prepareProtocol(data, { protocol: 'random' });
  const modelA = join(root, 'a');
  const modelB = join(root, 'b');
  const opts = { dim: 16, epochs: 3, patience: 3 };
  await trainOnSplit(prepared.data, prepared.split, modelA, { ...opts, seed: 1 });
  await trainOnSplit(prepared.data, prepared.split, modelB, { ...opts, seed: 2, epochs: 1 });
  const runA = await evaluateModelOn(prepared, modelA);
  const runB = await evaluateModelOn(prepared, modelB);
  return { root, data, modelA, modelB, prepared, runA, runB, close: () => rm(root, { recursive: true, force: true }) };
}
