/**
 * The HTML report of an evaluation: one self-contained file (inline CSS and SVG, no script, no
 * network), readable offline and attachable to a pull request or a nightly job's artifacts.
 */
import type { Comparison } from '../compareRuns.js';
import type { EvalRun, MethodResult } from '../evalTypes.js';
import { describeRun, fmt } from '../formatRun.js';
import type { GateResult } from '../gates.js';
import { METRICS, type MetricName } from '../metrics.js';
import { activityBuckets, bucketMeans } from './activityBuckets.js';
import { escapeXml, groupedBarChart, histogramChart, intervalChart, lineChart } from './svg.js';

export interface ReportInput {
  run: EvalRun;
  base?: EvalRun;
  comparison?: Comparison;
  gates?: GateResult[];
  title?: string;
}

const COLORS: Record<string, string> = { retrieval: '#1f77b4', ann: '#17becf', pipeline: '#d62728', popularity: '#7f7f7f', random: '#bcbd22' };
const EXTRA_COLORS = ['#9467bd', '#8c564b', '#e377c2', '#2ca02c', '#ff7f0e'];
const METRIC_TITLES: Record<MetricName, string> = { recall: 'Recall', precision: 'Precision', hitrate: 'HitRate', mrr: 'MRR', ndcg: 'NDCG', map: 'MAP' };

export function renderReport(r: ReportInput): string {
  const { run } = r;
  const color = colorFor();
  const sections = [
    header(r),
    gatesSection(r.gates ?? []),
    tablesSection(run),
    curvesSection(run, color),
    catalogSection(run, color),
    activitySection(run, color),
    popularitySection(run, color),
    scoresSection(run),
    r.comparison && r.base ? compareSection(r.comparison, r.base) : '',
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(r.title ?? `twotower evaluation: ${run.source.id}`)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f5f5f5}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{border:1px solid #eee;background:#fff}
.chart-title{font-size:13px;font-weight:600}.tick{font-size:10px;fill:#555}.axis-label{font-size:11px;fill:#333}.legend{font-size:11px}
.grid{stroke:#eee}.pass{color:#2a7a2a}.fail{color:#b00020;font-weight:600}.note{color:#8a5a00}pre{background:#f7f7f7;padding:8px;white-space:pre-wrap}
</style></head><body>
${sections.filter(Boolean).join('\n')}
</body></html>
`;
}

function colorFor(): (name: string) => string {
  let next = 0;
  const extra = new Map<string, string>();
  return (name) => COLORS[name] ?? extra.get(name) ?? (extra.set(name, EXTRA_COLORS[next++ % EXTRA_COLORS.length]), extra.get(name)!);
}

function header(r: ReportInput): string {
  const { run } = r;
  const notes = run.notes.map((n) => `<p class="note">${escapeXml(n)}</p>`).join('');
  const timings = Object.entries(run.timingsMs)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
    .join(', ');
  return `<h1>${escapeXml(r.title ?? 'twotower evaluation')}</h1><pre>${escapeXml(describeRun(run))}</pre>
<p>Views of the evaluated ${run.source.kind === 'version' ? 'version' : 'model'}: ${run.methods
    .filter((m) => m.kind === 'view')
    .map((m) => `<b>${escapeXml(m.name)}</b>`)
    .join(', ')}; baselines: ${run.methods
    .filter((m) => m.kind === 'baseline')
    .map((m) => escapeXml(m.name))
    .join(', ')}. Every method is scored on the same ${run.userIds.length} users. Timings: ${escapeXml(timings)}.</p>${notes}`;
}

function gatesSection(gates: GateResult[]): string {
  if (!gates.length) return '';
  return `<h2>Gates</h2><ul>${gates.map((g) => `<li class="${g.passed ? 'pass' : 'fail'}">${escapeXml(g.detail)}</li>`).join('')}</ul>`;
}

function tablesSection(run: EvalRun): string {
  const metrics = Object.keys(METRICS) as MetricName[];
  const cat = ['coverage', 'gini', 'novelty'];
  const tables = run.ks.map((k) => {
    const head = `<tr><th>@${k}</th>${metrics.map((m) => `<th>${METRIC_TITLES[m]}</th>`).join('')}${cat.map((c) => `<th>${c}</th>`).join('')}</tr>`;
    const rows = run.methods
      .map(
        (m) =>
          `<tr><td>${escapeXml(m.name)}${m.kind === 'baseline' ? ' (baseline)' : ''}</td>${metrics.map((x) => `<td>${fmt(m.means[`${x}@${k}`])}</td>`).join('')}${cat
            .map((c) => `<td>${fmt(m.catalog[`${c}@${k}`], c === 'novelty' ? 2 : 4)}</td>`)
            .join('')}</tr>`,
      )
      .join('');
    return `<table>${head}${rows}</table>`;
  });
  const extras = run.methods.flatMap((m) => Object.entries(m.extra).map(([k, v]) => `<tr><td>${escapeXml(m.name)}</td><td>${escapeXml(k)}</td><td>${fmt(v)}</td></tr>`));
  return `<h2>Metrics</h2>${tables.join('')}${extras.length ? `<table><tr><th>view</th><th>measure</th><th>value</th></tr>${extras.join('')}</table>` : ''}`;
}

function seriesOf(run: EvalRun, color: (n: string) => string, value: (m: MethodResult, k: number) => number) {
  return run.methods.map((m) => ({ name: m.name, color: color(m.name), dashed: m.kind === 'baseline', points: run.ks.map((k) => ({ x: k, y: value(m, k) })) }));
}

function curvesSection(run: EvalRun, color: (n: string) => string): string {
  const charts = (Object.keys(METRICS) as MetricName[]).map((metric) =>
    lineChart({ kind: `curve-${metric}`, title: `${METRIC_TITLES[metric]}@K`, xLabel: 'K', yLabel: METRIC_TITLES[metric], series: seriesOf(run, color, (m, k) => m.means[`${metric}@${k}`]) }),
  );
  return `<h2>Metric@K per view and baseline</h2><div class="charts">${charts.join('')}</div>`;
}

function catalogSection(run: EvalRun, color: (n: string) => string): string {
  const charts = [
    ['coverage', 'Catalog coverage@K', 'share of catalog shown'],
    ['gini', 'Gini of exposure@K', 'Gini (0 = even)'],
    ['novelty', 'Novelty@K', 'mean self-information (bits)'],
  ].map(([key, title, label]) => lineChart({ kind: `catalog-${key}`, title, xLabel: 'K', yLabel: label, series: seriesOf(run, color, (m, k) => m.catalog[`${key}@${k}`]) }));
  return `<h2>Beyond accuracy</h2><div class="charts">${charts.join('')}</div>`;
}

function activitySection(run: EvalRun, color: (n: string) => string): string {
  const b = activityBuckets(run.userActivity);
  const ks = [run.ks[0], run.ks[Math.min(1, run.ks.length - 1)]];
  const charts = ['recall', 'ndcg'].flatMap((metric) =>
    [...new Set(ks)].map((k) =>
      groupedBarChart({
        kind: `activity-${metric}-${k}`,
        title: `${metric === 'recall' ? 'Recall' : 'NDCG'}@${k} by user activity (history items)`,
        groups: b.labels.map((l) => l.replace(/ \(.*\)$/, '')),
        yLabel: `${metric}@${k}`,
        series: run.methods.map((m) => ({ name: m.name, color: color(m.name), values: bucketMeans(m.perUser[`${metric}@${k}`], b) })),
      }),
    ),
  );
  return `<h2>By user activity</h2><p>Users in quartiles of their history length: ${b.labels.map(escapeXml).join('; ')}.</p><div class="charts">${charts.join('')}</div>`;
}

function popularitySection(run: EvalRun, color: (n: string) => string): string {
  const ks = [...new Set([run.ks[Math.min(1, run.ks.length - 1)], run.ks[run.ks.length - 1]])];
  const groups = run.itemBuckets.labels;
  const counts = run.itemBuckets.labels.map((l, i) => `${l}: ${run.itemBuckets.items[i]} items`).join('; ');
  const charts = ks.map((k) =>
    groupedBarChart({
      kind: `popularity-recall-${k}`,
      title: `Recall@${k} of held-out items by item popularity`,
      groups,
      yLabel: `recall@${k}`,
      series: run.methods.map((m) => ({ name: m.name, color: color(m.name), values: m.byItemPopularity[`recall@${k}`] })),
    }),
  );
  return `<h2>By item popularity</h2><p>Items sorted by training interactions and cut where the cumulative share of interactions crosses 25%, 50%, 75%, and items never seen in training (${escapeXml(counts)}); held-out items of each bucket found in the top K, pooled over users. A missing bar: no held-out item in that bucket.</p><div class="charts">${charts.join('')}</div>`;
}

function scoresSection(run: EvalRun): string {
  const charts = run.methods
    .filter((m) => m.scores && m.scores.hit.length)
    .map((m) =>
      histogramChart({
        kind: `scores-${m.name}`,
        title: `${m.name}: ${m.scores!.label} of top-${Math.max(...run.ks)} entries`,
        xLabel: m.scores!.label,
        min: m.scores!.min,
        max: m.scores!.max,
        series: [
          { name: 'held-out item', color: '#2ca02c', counts: m.scores!.hit },
          { name: 'other', color: '#888888', counts: m.scores!.miss },
        ],
      }),
    );
  if (!charts.length) return '';
  return `<h2>Score distributions</h2><p>Scores of the listed items, split by whether the item is one the user went on to interact with; each distribution is normalised to its own total (counts in the legend). Well separated shapes mean the scores carry the signal.</p><div class="charts">${charts.join('')}</div>`;
}

function compareSection(c: Comparison, base: EvalRun): string {
  const views = [...new Set(c.rows.map((r) => r.view))];
  const charts = views.map((view) =>
    intervalChart({
      kind: `compare-${view}`,
      title: `${view}: candidate - base`,
      rows: c.rows
        .filter((r) => r.view === view && /^(recall|ndcg|mrr|hitrate)@/.test(r.key) && Number(r.key.split('@')[1]) <= 50)
        .map((r) => ({ label: r.key, delta: r.delta, lo: r.lo, hi: r.hi })),
    }),
  );
  const rows = c.rows
    .map(
      (r) =>
        `<tr><td>${escapeXml(r.view)}</td><td>${escapeXml(r.key)}</td><td>${fmt(r.base)}</td><td>${fmt(r.candidate)}</td><td>${fmt(r.delta)}</td><td>${fmt(r.lo)} .. ${fmt(r.hi)}</td></tr>`,
    )
    .join('');
  return `<h2>Comparison with ${escapeXml(c.base)}</h2><pre>${escapeXml(describeRun(base))}</pre>
<p>${c.users} paired users${c.onlyInBase || c.onlyInCandidate ? ` (${c.onlyInBase} only in base, ${c.onlyInCandidate} only in candidate, left out)` : ''}; paired bootstrap with ${c.resamples} resamples (seed ${c.seed}), ${Math.round(c.level * 100)}% percentile intervals. Green: the interval is above zero; red: below.</p>
<div class="charts">${charts.join('')}</div>
<table><tr><th>view</th><th>metric</th><th>base</th><th>candidate</th><th>delta</th><th>95% interval</th></tr>${rows}</table>`;
}
