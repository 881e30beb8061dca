/** The comparison table: per view, a row per metric and a column per K, each cell Δ [95% CI]. */
import type { Comparison } from './compareRuns.js';
import { table } from './formatRun.js';

export function formatComparison(c: Comparison): string {
  const out = [
    `compare: candidate ${c.candidate} - base ${c.base} on ${c.users} paired users` +
      (c.onlyInBase || c.onlyInCandidate ? ` (${c.onlyInBase} only in base, ${c.onlyInCandidate} only in candidate: left out)` : '') +
      `; paired bootstrap, ${c.resamples} resamples, seed ${c.seed}, ${Math.round(c.level * 100)}% intervals; * = interval excludes 0`,
  ];
  for (const view of [...new Set(c.rows.map((r) => r.view))]) {
    const rows = c.rows.filter((r) => r.view === view);
    const metrics = [...new Set(rows.map((r) => r.key.split('@')[0]))];
    const ks = [...new Set(rows.map((r) => r.key.split('@')[1]))];
    const body = metrics.map((m) => [
      m,
      ...ks.map((k) => {
        const r = rows.find((x) => x.key === `${m}@${k}`);
        if (!r) return '-';
        const sig = r.lo > 0 || r.hi < 0 ? '*' : ' ';
        return `${signed(r.delta)} [${signed(r.lo)}, ${signed(r.hi)}]${sig}`;
      }),
    ]);
    out.push('', `${view}: candidate - base`, ...table(['', ...ks.map((k) => `@${k}`)], body));
  }
  return out.join('\n');
}

function signed(x: number): string {
  return (x >= 0 ? '+' : '') + x.toFixed(4);
}
