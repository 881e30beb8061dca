/**
 * The ranker's Prometheus instruments, on a registry of its own: two apps in one process (tests,
 * a benchmark's floor) must not share counters, and prom-client's global registry would make
 * them collide on names.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LoadedVersion } from '../shared/store/types.js';
import type { CandidateSource, DegradedReason, StageName, StageTimings } from './pipeline/types.js';

/** Seconds; dense below 10 ms, where the budget lives. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25, 1];

export type VersionLoadOutcome = 'swapped' | 'refused';

const SOURCES: readonly CandidateSource[] = ['precomputed', 'cold_start', 'popular', 'caller'];
const DEGRADED_REASONS: readonly DegradedReason[] = ['deadline', 'ranker_failed', 'retrieval_failed'];
const LOAD_OUTCOMES: readonly VersionLoadOutcome[] = ['swapped', 'refused'];

export interface RankerMetricsOptions {
  /** The serving version, read at scrape time for the version info and age gauges. */
  getVersion: () => LoadedVersion | null;
  /** In-flight requests, read at scrape time. */
  getInFlight?: () => number;
  /** Process metrics (CPU, heap, event-loop lag); off for short-lived apps in tests. */
  processMetrics?: boolean;
}

export class RankerMetrics {
  readonly registry = new Registry();
  readonly #stageSeconds: LightHistogram;
  /** Per stage, in StageName order of first use (the order series appear in the exposition). */
  readonly #stageSeries = new Map<string, HistogramSeries>();
  readonly #requestSeconds: LightHistogram;
  /** route → status → series. */
  readonly #requestSeries = new Map<string, Map<number, HistogramSeries>>();
  readonly #rankRequests: Counter<'source'>;
  /** Answers per source not yet added to #rankRequests (added at scrape time, see collect). */
  readonly #pendingRankRequests = new Map<CandidateSource, number>();
  readonly #degraded: Counter<'reason'>;
  readonly #shed: Counter<'route'>;
  readonly #versionLoads: Counter<'outcome'>;

  constructor(opts: RankerMetricsOptions) {
    const registers = [this.registry];
    this.#stageSeconds = new LightHistogram('twotower_rank_stage_seconds', 'Wall time of each /v1/rank pipeline stage', LATENCY_BUCKETS);
    this.registry.registerMetric(this.#stageSeconds as unknown as Metric);
    this.#requestSeconds = new LightHistogram(
      'twotower_http_request_seconds',
      'Time from request arrival to response, by route and status',
      LATENCY_BUCKETS,
    );
    this.registry.registerMetric(this.#requestSeconds as unknown as Metric);
    const pendingRankRequests = this.#pendingRankRequests;
    this.#rankRequests = new Counter({
      name: 'twotower_rank_requests_total',
      help: 'Answered /v1/rank requests by candidate source',
      labelNames: ['source'],
      registers,
      // Counted per request in a plain Map and added here, at scrape time: prom-client's inc
      // validates and hashes its labels on every call.
      collect() {
        for (const [source, n] of pendingRankRequests) if (n > 0) this.inc({ source }, n);
        pendingRankRequests.clear();
      },
    });
    this.#degraded = new Counter({
      name: 'twotower_rank_degraded_total',
      help: 'Degraded /v1/rank answers by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#shed = new Counter({
      name: 'twotower_shed_total',
      help: 'Requests refused with 503 because too many were in flight',
      labelNames: ['route'],
      registers,
    });
    this.#versionLoads = new Counter({
      name: 'twotower_version_loads_total',
      help: 'Attempts to put a new index version in service, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    // Every series exists from the start at 0, so a rate() or an alert has a baseline before the
    // first event instead of no data.
    for (const source of SOURCES) this.#rankRequests.inc({ source }, 0);
    for (const reason of DEGRADED_REASONS) this.#degraded.inc({ reason }, 0);
    for (const outcome of LOAD_OUTCOMES) this.#versionLoads.inc({ outcome }, 0);
    const { getVersion } = opts;
    new Gauge({
      name: 'twotower_index_info',
      help: 'The serving index version (value 1; the version is in the labels)',
      labelNames: ['index_version', 'model_version'],
      registers,
      collect() {
        this.reset();
        const v = getVersion();
        if (v) this.set({ index_version: v.id, model_version: v.model.modelVersion }, 1);
      },
    });
    new Gauge({
      name: 'twotower_index_age_seconds',
      help: 'Seconds since the serving index version was built (alert on a stale index)',
      registers,
      collect() {
        this.reset();
        const created = Date.parse(getVersion()?.manifest.createdAt ?? '');
        if (Number.isFinite(created)) this.set((Date.now() - created) / 1000);
      },
    });
    const { getInFlight } = opts;
    if (getInFlight) {
      new Gauge({
        name: 'twotower_in_flight_requests',
        help: 'Requests admitted and not yet answered',
        registers,
        collect() {
          this.set(getInFlight());
        },
      });
    }
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'twotower_' });
  }

  observeRank(source: CandidateSource, timings: StageTimings, degradedReason: DegradedReason | undefined): void {
    this.#pendingRankRequests.set(source, (this.#pendingRankRequests.get(source) ?? 0) + 1);
    if (degradedReason) this.#degraded.inc({ reason: degradedReason });
    for (const stage in timings) {
      const ms = timings[stage as StageName] as number;
      let series = this.#stageSeries.get(stage);
      if (!series) {
        series = this.#stageSeconds.series({ stage });
        this.#stageSeries.set(stage, series);
      }
      series.observe(ms / 1000);
    }
  }

  observeRequest(route: string, status: number, seconds: number): void {
    let byStatus = this.#requestSeries.get(route);
    if (!byStatus) {
      byStatus = new Map();
      this.#requestSeries.set(route, byStatus);
    }
    let series = byStatus.get(status);
    if (!series) {
      series = this.#requestSeconds.series({ route, status: String(status) });
      byStatus.set(status, series);
    }
    series.observe(seconds);
  }

  countShed(route: string): void {
    this.#shed.inc({ route });
  }

  countVersionLoad(outcome: VersionLoadOutcome): void {
    this.#versionLoads.inc({ outcome });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** What a Registry needs of a metric (prom-client's own metrics are classes it knows). */
type Metric = Parameters<Registry['registerMetric']>[0];

/**
 * One label set of a LightHistogram: per-bucket counts (not cumulative; the last slot is past the
 * largest bound), the sum and the count, as prom-client keeps them.
 */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string>,
    private readonly upperBounds: readonly number[],
  ) {
    this.counts = new Float64Array(upperBounds.length + 1);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.upperBounds;
    let b = 0;
    while (b < bounds.length && !(value <= bounds[b])) b++;
    this.counts[b]++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram with prom-client's exposition (the same lines, labels and order, so
 * /metrics reads the same), whose observe is a bucket search and three additions on a series
 * bound once: prom-client's own checks its labels, hashes them into a string and turns the
 * bucket bound into a property name on every call, several times a request here.
 */
export class LightHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series: HistogramSeries[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
  ) {}

  /** A new series for these labels; the caller keeps it (asking twice makes two series). */
  series(labels: Record<string, string>): HistogramSeries {
    const s = new HistogramSeries(labels, this.upperBounds);
    this.#series.push(s);
    return s;
  }

  /** The values as prom-client's Histogram gives them to a Registry for the text format. */
  async getForPromString() {
    const name = this.name;
    const values: Array<{ labels: Record<string, string | number>; sharedLabels: Record<string, string>; value: number; metricName: string; exemplar?: null }> = [];
    for (const s of this.#series) {
      // prom-client shows a label set from its first observation until a reset.
      if (s.count === 0) continue;
      let acc = 0;
      this.upperBounds.forEach((le, b) => {
        acc += s.counts[b];
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: `${name}_bucket`, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket`, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    return { name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As getForPromString, with each value's labels merged (what Registry.getMetricsAsJSON reads). */
  async get() {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ sharedLabels, labels, ...v }) => ({ ...v, labels: { ...labels, ...sharedLabels } })) };
  }

  /** Zeroes every series, which hides it until its next observation (Registry.resetMetrics). */
  reset(): void {
    for (const s of this.#series) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
