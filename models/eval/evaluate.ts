/**
 * The store-mode evaluation under the names the demo and older callers use; the work is in
 * evaluateStore.ts (views of a published version) and evaluateModel.ts (a model folder under a
 * protocol).
 */
import type { EvalRun } from './evalTypes.js';
import { evaluateStoreVersion } from './evaluateStore.js';
import { formatRun } from './formatRun.js';

export { EVAL_KS } from './evalTypes.js';
export type { EvalRun as EvalReport } from './evalTypes.js';

export function evaluateVersion(opts: { store: string; data: string; version?: string }): Promise<EvalRun> {
  return evaluateStoreVersion(opts);
}

export function formatEvalTable(r: EvalRun): string {
  return formatRun(r);
}
