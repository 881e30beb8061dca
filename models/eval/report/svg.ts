/**
 * A few SVG charts, written as strings, for a report that must open offline: no library, no
 * script, nothing fetched. Each chart is an <svg class="chart" data-chart="…"> with a title, axes
 * with round-number ticks, and a legend.
 */

export interface LineSeries {
  name: string;
  color: string;
  dashed?: boolean;
  points: { x: number; y: number }[];
}

export interface BarSeries {
  name: string;
  color: string;
  /** One value per group; NaN draws nothing (no data). */
  values: number[];
}

const W = 460;
const H = 280;
const M = { left: 56, right: 16, top: 34, bottom: 64 };

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round-number ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  // From the last tick at or below lo to the first at or above hi, so every value is inside.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

function frame(kind: string, title: string, body: string, legend: string): string {
  return (
    `<svg class="chart" data-chart="${escapeXml(kind)}" role="img" aria-label="${escapeXml(title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeXml(title)}</title>` +
    `<text x="${W / 2}" y="18" text-anchor="middle" class="chart-title">${escapeXml(title)}</text>` +
    body +
    legend +
    `</svg>`
  );
}

function legendRow(entries: { name: string; color: string; dashed?: boolean }[]): string {
  let x = M.left;
  const y = H - 14;
  return entries
    .map((e) => {
      const s =
        `<line x1="${x}" y1="${y - 4}" x2="${x + 16}" y2="${y - 4}" stroke="${e.color}" stroke-width="3"${e.dashed ? ' stroke-dasharray="4 3"' : ''}/>` +
        `<text x="${x + 20}" y="${y}" class="legend">${escapeXml(e.name)}</text>`;
      x += 28 + e.name.length * 6.5;
      return s;
    })
    .join('');
}

function yAxis(ticks: number[], y: (v: number) => number, label: string, fmt: (v: number) => string): string {
  const grid = ticks
    .map((t) => `<line x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end" class="tick">${fmt(t)}</text>`)
    .join('');
  return grid + `<text transform="translate(14 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(label)}</text>`;
}

function tickFormat(ticks: number[]): (v: number) => string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
  const digits = Math.max(0, Math.min(4, -Math.floor(Math.log10(step) + 1e-9)));
  return (v) => v.toFixed(digits);
}

/** Lines over a numeric x axis drawn on a log scale (K = 10, 20, 50, 100 spread evenly enough). */
export function lineChart(o: { kind: string; title: string; xLabel: string; yLabel: string; series: LineSeries[] }): string {
  const xs = o.series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
  const ys = o.series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);
  const x0 = Math.log(Math.min(...xs));
  const x1 = Math.log(Math.max(...xs));
  const ticks = niceTicks(0, Math.max(...ys, 1e-6));
  const yMax = ticks[ticks.length - 1];
  const x = (v: number): number => M.left + ((Math.log(v) - x0) / (x1 - x0 || 1)) * (W - M.left - M.right);
  const y = (v: number): number => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const xTicks = [...new Set(xs)].sort((a, b) => a - b);
  let body = yAxis(ticks, y, o.yLabel, tickFormat(ticks));
  body += xTicks.map((t) => `<text x="${x(t)}" y="${H - M.bottom + 16}" text-anchor="middle" class="tick">${t}</text>`).join('');
  body += `<text x="${(M.left + W - M.right) / 2}" y="${H - M.bottom + 32}" text-anchor="middle" class="axis-label">${escapeXml(o.xLabel)}</text>`;
  for (const s of o.series) {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    if (!pts.length) continue;
    const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join('');
    body += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}><title>${escapeXml(s.name)}</title></path>`;
    body += pts
      .map((p) => `<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeXml(`${s.name} @${p.x}: ${p.y.toFixed(4)}`)}</title></circle>`)
      .join('');
  }
  return frame(o.kind, o.title, body, legendRow(o.series));
}

/** Bars grouped by category (bucket), one bar per series in each group. */
export function groupedBarChart(o: { kind: string; title: string; groups: string[]; yLabel: string; series: BarSeries[] }): string {
  const ys = o.series.flatMap((s) => s.values).filter(Number.isFinite);
  const ticks = niceTicks(0, Math.max(...ys, 1e-6));
  const yMax = ticks[ticks.length - 1];
  const y = (v: number): number => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const gw = (W - M.left - M.right) / Math.max(1, o.groups.length);
  const bw = (gw * 0.8) / Math.max(1, o.series.length);
  let body = yAxis(ticks, y, o.yLabel, tickFormat(ticks));
  o.groups.forEach((g, gi) => {
    const gx = M.left + gi * gw + gw * 0.1;
    o.series.forEach((s, si) => {
      const v = s.values[gi];
      if (!Number.isFinite(v)) return;
      body += `<rect x="${(gx + si * bw).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(H - M.bottom - y(v)).toFixed(1)}" fill="${s.color}"><title>${escapeXml(`${s.name}, ${g}: ${v.toFixed(4)}`)}</title></rect>`;
    });
    body += `<text x="${(gx + gw * 0.4).toFixed(1)}" y="${H - M.bottom + 14}" text-anchor="middle" class="tick">${escapeXml(g)}</text>`;
  });
  return frame(o.kind, o.title, body, legendRow(o.series));
}

/** Overlaid histograms on shared bins, each normalised to its own total (shapes, not counts). */
export function histogramChart(o: { kind: string; title: string; xLabel: string; min: number; max: number; series: { name: string; color: string; counts: number[] }[] }): string {
  const bins = Math.max(1, ...o.series.map((s) => s.counts.length));
  const shares = o.series.map((s) => {
    const total = s.counts.reduce((a, b) => a + b, 0);
    return s.counts.map((c) => (total > 0 ? c / total : 0));
  });
  const ticks = niceTicks(0, Math.max(...shares.flat(), 1e-6));
  const yMax = ticks[ticks.length - 1];
  const y = (v: number): number => H - M.bottom - (v / yMax) * (H - M.top - M.bottom);
  const bw = (W - M.left - M.right) / bins;
  let body = yAxis(ticks, y, 'share of entries', tickFormat(ticks));
  shares.forEach((sh, si) => {
    const s = o.series[si];
    body += sh
      .map((v, b) => (v > 0 ? `<rect x="${(M.left + b * bw).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(bw - 0.5).toFixed(1)}" height="${(H - M.bottom - y(v)).toFixed(1)}" fill="${s.color}" fill-opacity="0.55"/>` : ''))
      .join('');
  });
  const xt = niceTicks(o.min, o.max, 5).filter((t) => t >= o.min - 1e-9 && t <= o.max + 1e-9);
  const x = (v: number): number => M.left + ((v - o.min) / (o.max - o.min || 1)) * (W - M.left - M.right);
  const f = tickFormat(xt);
  body += xt.map((t) => `<text x="${x(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle" class="tick">${f(t)}</text>`).join('');
  body += `<text x="${(M.left + W - M.right) / 2}" y="${H - M.bottom + 32}" text-anchor="middle" class="axis-label">${escapeXml(o.xLabel)}</text>`;
  return frame(o.kind, o.title, body, legendRow(o.series.map((s, i) => ({ ...s, name: `${s.name} (${o.series[i].counts.reduce((a, b) => a + b, 0)})` }))));
}

/** Differences with intervals, one row each, around a zero line (a forest plot). */
export function intervalChart(o: { kind: string; title: string; rows: { label: string; delta: number; lo: number; hi: number }[] }): string {
  const h = Math.max(H, M.top + 22 * o.rows.length + 40);
  const left = 130;
  const ext = Math.max(1e-4, ...o.rows.flatMap((r) => [Math.abs(r.lo), Math.abs(r.hi), Math.abs(r.delta)]));
  const ticks = niceTicks(-ext, ext, 4);
  const lo = ticks[0];
  const hi = ticks[ticks.length - 1];
  const x = (v: number): number => left + ((v - lo) / (hi - lo)) * (W - left - M.right);
  const f = tickFormat(ticks);
  let body = ticks.map((t) => `<line x1="${x(t)}" x2="${x(t)}" y1="${M.top}" y2="${h - 40}" class="grid"/><text x="${x(t)}" y="${h - 26}" text-anchor="middle" class="tick">${f(t)}</text>`).join('');
  body += `<line x1="${x(0)}" x2="${x(0)}" y1="${M.top}" y2="${h - 40}" stroke="#333"/>`;
  o.rows.forEach((r, i) => {
    const yy = M.top + 12 + i * 22;
    const color = r.lo > 0 ? '#2ca02c' : r.hi < 0 ? '#d62728' : '#555';
    body += `<text x="${left - 8}" y="${yy + 4}" text-anchor="end" class="tick">${escapeXml(r.label)}</text>`;
    body += `<line x1="${x(r.lo).toFixed(1)}" x2="${x(r.hi).toFixed(1)}" y1="${yy}" y2="${yy}" stroke="${color}" stroke-width="2"/>`;
    body += `<circle cx="${x(r.delta).toFixed(1)}" cy="${yy}" r="4" fill="${color}"><title>${escapeXml(`${r.label}: ${r.delta.toFixed(4)} [${r.lo.toFixed(4)}, ${r.hi.toFixed(4)}]`)}</title></circle>`;
  });
  body += `<text x="${(left + W - M.right) / 2}" y="${h - 8}" text-anchor="middle" class="axis-label">candidate - base (95% interval)</text>`;
  return (
    `<svg class="chart" data-chart="${escapeXml(o.kind)}" role="img" aria-label="${escapeXml(o.title)}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" xmlns="http://www.w3.org/2000/svg">` +
    `<title>${escapeXml(o.title)}</title><text x="${W / 2}" y="18" text-anchor="middle" class="chart-title">${escapeXml(o.title)}</text>${body}</svg>`
  );
}
