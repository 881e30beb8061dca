/**
 * The HTML report: self-contained (no script, nothing fetched), with its charts, and rendered by a
 * real browser. The browser part needs Debian's chromium at /usr/bin/chromium and is skipped, with
 * a message saying so, where it is not installed (CI installs it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareRuns } from '../../models/eval/compareRuns.js';
import { checkGates, parseGate } from '../../models/eval/gates.js';
import { renderReport } from '../../models/eval/report/renderReport.js';
import { makeEvalFixture, type EvalFixture } from './evalFixture.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report.test: ${CHROMIUM} is missing, so the headless-browser checks are skipped (apt-get install chromium)`);

let fx: EvalFixture;
let dir: string;
let file: string;
let html: string;
beforeAll(async () => {
  fx = await makeEvalFixture();
  dir = await mkdtemp(join(tmpdir(), 'tt-report-'));
  file = join(dir, 'report.html');
  const comparison = compareRuns(fx.runA, fx.runB, { resamples: 200 });
  const gates = checkGates([parseGate('recall@20>=-0.005'), parseGate('retrieval.ndcg@10>=0.5')], fx.runA, comparison);
  html = renderReport({ run: fx.runA, base: fx.runB, comparison, gates });
  await writeFile(file, html);
}, 120_000);
afterAll(async () => {
  await fx?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const EXPECTED_CHARTS = [
  'curve-recall', 'curve-ndcg', 'curve-mrr', 'curve-hitrate', 'curve-precision', 'curve-map',
  'catalog-coverage', 'catalog-gini', 'catalog-novelty',
  'activity-recall-10', 'activity-ndcg-10', 'popularity-recall-20', 'popularity-recall-100',
  'scores-retrieval', 'scores-pipeline', 'compare-retrieval', 'compare-pipeline',
];

function chartKinds(doc: string): string[] {
  return [...doc.matchAll(/<svg[^>]*class="chart"[^>]*data-chart="([^"]+)"/g)].map((m) => m[1]);
}

describe('HTML report', () => {
  it('is self-contained: no script, no stylesheet or image fetched, every chart inline', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    // The only URL is the SVG namespace, which is a name, not something fetched.
    expect([...html.matchAll(/https?:\/\/[^"\s]+/g)].map((m) => m[0]).every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
    expect(chartKinds(html)).toEqual(expect.arrayContaining(EXPECTED_CHARTS));
    expect(html).toMatch(/gate FAILED: retrieval ndcg@10 &gt;= 0.5/);
  });

  it.skipIf(!hasChromium)('renders in headless Chromium with its charts (DOM and screenshot)', async () => {
    const run = promisify(execFile);
    const flags = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`,
    ];
    const url = `file://${file}`;
    const { stdout: dom } = await run(CHROMIUM, [...flags, '--dump-dom', url], { timeout: 60_000, maxBuffer: 64 << 20 });
    const kinds = chartKinds(dom);
    expect(kinds).toEqual(expect.arrayContaining(EXPECTED_CHARTS));
    // Charts that drew something: lines, bars, histogram bins and interval markers.
    expect((dom.match(/<path /g) ?? []).length).toBeGreaterThan(20);
    expect((dom.match(/<rect /g) ?? []).length).toBeGreaterThan(40);
    const png = join(dir, 'report.png');
    await run(CHROMIUM, [...flags, `--screenshot=${png}`, '--window-size=1400,2600', '--hide-scrollbars', url], { timeout: 60_000 });
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect((await stat(png)).size).toBeGreaterThan(50_000);
    if (process.env.TWOTOWER_KEEP_REPORT) await writeFile(process.env.TWOTOWER_KEEP_REPORT, bytes);
  }, 120_000);
});
