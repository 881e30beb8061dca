/**
 * Release gates for a nightly pipeline: conditions such as "recall@20>=-0.005" that set a non-zero
 * exit code when violated. With a comparison a gate reads the difference candidate - base (so
 * "-0.005" allows the candidate at most 0.005 below production); without one, the value itself.
 *
 *   [view.]metric@K OP number      OP one of >= > <= <
 * The view defaults to 'pipeline' (what is served); the metric may be any accuracy metric, a
 * catalog measure (coverage, gini, novelty) or an extra such as ann.recall_vs_exact@100.
 */
import { TwoTowerError } from '../../shared/errors.js';
import type { Comparison } from './compareRuns.js';
import type { EvalRun } from './evalTypes.js';

export type GateOp = '>=' | '>' | '<=' | '<';

export interface Gate {
  text: string;
  view: string;
  key: string;
  op: GateOp;
  value: number;
}

export interface GateResult {
  gate: Gate;
  actual: number;
  passed: boolean;
  /** One line saying what was compared and how it came out. */
  detail: string;
}

export const DEFAULT_GATE_VIEW = 'pipeline';
const GATE = /^\s*(?:([A-Za-z_][\w-]*)\.)?([A-Za-z_]+@\d+)\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$/i;

export function parseGate(text: string): Gate {
  const m = GATE.exec(text);
  if (!m) throw new TwoTowerError('BAD_INPUT', `--gate '${text}': expected [view.]metric@K OP number, e.g. "recall@20>=-0.005" or "retrieval.ndcg@10>0"`);
  return { text: text.trim(), view: m[1] ?? DEFAULT_GATE_VIEW, key: m[2].toLowerCase(), op: m[3] as GateOp, value: Number(m[4]) };
}

export function checkGates(gates: readonly Gate[], run: EvalRun, comparison?: Comparison): GateResult[] {
  return gates.map((g) => {
    const { actual, what } = comparison ? deltaOf(g, run, comparison) : valueOf(g, run);
    const passed = compare(actual, g.op, g.value);
    return { gate: g, actual, passed, detail: `gate ${passed ? 'passed' : 'FAILED'}: ${g.view} ${g.key} ${g.op} ${g.value}: ${what}` };
  });
}

function valueOf(g: Gate, run: EvalRun): { actual: number; what: string } {
  const m = run.methods.find((x) => x.name === g.view);
  if (!m) throw new TwoTowerError('BAD_INPUT', `--gate '${g.text}': no view '${g.view}' in this run (views: ${run.methods.map((x) => x.name).join(', ')})`);
  const actual = m.means[g.key] ?? m.catalog[g.key] ?? m.extra[g.key];
  if (actual === undefined) throw new TwoTowerError('BAD_INPUT', `--gate '${g.text}': view '${g.view}' has no '${g.key}' (metrics at K = ${run.ks.join(', ')})`);
  return { actual, what: `value ${actual.toFixed(4)}` };
}

function deltaOf(g: Gate, run: EvalRun, c: Comparison): { actual: number; what: string } {
  const row = c.rows.find((r) => r.view === g.view && r.key === g.key);
  if (row) {
    return {
      actual: row.delta,
      what: `delta ${signed(row.delta)} (${row.candidate.toFixed(4)} vs ${row.base.toFixed(4)}, 95% CI ${signed(row.lo)} .. ${signed(row.hi)}, ${c.users} paired users)`,
    };
  }
  const cat = c.catalog.find((r) => r.view === g.view && r.key === g.key);
  if (cat) return { actual: cat.delta, what: `delta ${signed(cat.delta)} (${cat.candidate.toFixed(4)} vs ${cat.base.toFixed(4)})` };
  valueOf(g, run); // names the missing view or metric
  throw new TwoTowerError('BAD_INPUT', `--gate '${g.text}': '${g.view} ${g.key}' is not compared (only views present in both runs)`);
}

function compare(x: number, op: GateOp, v: number): boolean {
  switch (op) {
    case '>=':
      return x >= v;
    case '>':
      return x > v;
    case '<=':
      return x <= v;
    case '<':
      return x < v;
  }
}

function signed(x: number): string {
  return (x >= 0 ? '+' : '') + x.toFixed(4);
}
