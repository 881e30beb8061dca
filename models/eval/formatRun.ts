/** Plain-text tables and a JSON summary of an evaluation run, for the terminal and for scripts. */
import type { EvalRun } from './evalTypes.js';
import { METRICS, type MetricName } from './metrics.js';

const METRIC_COLUMNS = Object.keys(METRICS) as MetricName[];
const CATALOG_COLUMNS = ['coverage', 'gini', 'novelty'] as const;

/** One block per K: a row per method, accuracy metrics then catalog measures. */
export function formatRun(run: EvalRun): string {
  const out: string[] = [describeRun(run)];
  for (const k of run.ks) {
    const header = [`@${k}`, ...METRIC_COLUMNS, ...CATALOG_COLUMNS];
    const rows = run.methods.map((m) => [
      m.kind === 'baseline' ? `${m.name} (baseline)` : m.name,
      ...METRIC_COLUMNS.map((c) => fmt(m.means[`${c}@${k}`])),
      ...CATALOG_COLUMNS.map((c) => fmt(m.catalog[`${c}@${k}`], c === 'novelty' ? 2 : 4)),
    ]);
    out.push('', ...table(header, rows));
  }
  const extras = run.methods.flatMap((m) => Object.entries(m.extra).filter(([key]) => key.startsWith('recall_vs_exact')).map(([key, v]) => `${m.name} ${key} ${fmt(v)}`));
  if (extras.length) out.push('', `ANN candidates against exact search: ${extras.join(', ')}`);
  for (const note of run.notes) out.push(`note: ${note}`);
  return out.join('\n');
}

export function describeRun(run: EvalRun): string {
  const p = run.protocol;
  const params = Object.entries(p.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const skipped = Object.entries(run.skipped)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const t = run.timingsMs;
  const total = Object.values(t).reduce((a, b) => a + b, 0);
  return (
    `${run.source.kind} ${run.source.id}${run.source.kind === 'version' ? ` (model ${run.source.modelVersion})` : ''} at ${run.source.path}\n` +
    `protocol ${p.name} (seed ${p.seed}${params ? `, ${params}` : ''}): ${run.userIds.length} users, ${run.items} items` +
    (skipped ? `; skipped: ${skipped}` : '') +
    `; ${(total / 1000).toFixed(1)} s`
  );
}

/** What `--json` prints: means per method (rows), catalog measures and extras; no per-user arrays. */
export function runSummary(run: EvalRun): Record<string, unknown> {
  return {
    source: run.source,
    protocol: run.protocol,
    users: run.userIds.length,
    items: run.items,
    ks: run.ks,
    rows: Object.fromEntries(run.methods.map((m) => [m.name, m.means])),
    catalog: Object.fromEntries(run.methods.map((m) => [m.name, m.catalog])),
    extra: Object.fromEntries(run.methods.map((m) => [m.name, m.extra])),
    byItemPopularity: { buckets: run.itemBuckets, recall: Object.fromEntries(run.methods.map((m) => [m.name, m.byItemPopularity])) },
    skipped: run.skipped,
    timingsMs: run.timingsMs,
    notes: run.notes,
  };
}

export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), ...rows.map(line)];
}

export function fmt(x: number | undefined, digits = 4): string {
  return x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
}
