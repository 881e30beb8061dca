/**
 * The ranker's Prometheus instruments, on a registry of its own: two apps in one process (tests,
 * a benchmark's floor) must not share counters, and prom-client's global registry would make
 * them collide on names.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LoadedVersion } from '../shared/store/types.js';
import type { CandidateSource, DegradedReason, StageName, StageTimings } from './pipeline/types.js';

/** Seconds; dense below 10 ms, where the budget lives. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25, 1];

export type VersionLoadOutcome = 'swapped' | 'refused';

const SOURCES: readonly CandidateSource[] = ['precomputed', 'cold_start', 'popular', 'caller'];
const DEGRADED_REASONS: readonly DegradedReason[] = ['deadline', 'ranker_failed', 'retrieval_failed'];
const LOAD_OUTCOMES: readonly VersionLoadOutcome[] = ['swapped', 'refused'];
/** The threads a served version runs beside the HTTP thread. */
export type VersionThread = 'scoring' | 'model' | 'index';
const VERSION_THREADS: readonly VersionThread[] = ['scoring', 'model', 'index'];

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
  readonly #stageSeconds: Histogram<'stage'>;
  readonly #stageChildren = new Map<StageName, { observe(value: number): void }>();
  /** `${route} ${status}` → the bound child, for the same reason as #stageChildren. */
  readonly #requestChildren = new Map<string, { observe(value: number): void }>();
  readonly #requestSeconds: Histogram<'route' | 'status'>;
  readonly #rankRequests: Counter<'source'>;
  readonly #degraded: Counter<'reason'>;
  readonly #shed: Counter<'route'>;
  readonly #versionLoads: Counter<'outcome'>;
  readonly #threadDeaths: Counter<'thread'>;
  readonly #scoringBatchSeconds: Histogram;
  readonly #scoringBatchJobs: Histogram;

  constructor(opts: RankerMetricsOptions) {
    const registers = [this.registry];
    this.#stageSeconds = new Histogram({
      name: 'twotower_rank_stage_seconds',
      help: 'Wall time of each /v1/rank pipeline stage',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#requestSeconds = new Histogram({
      name: 'twotower_http_request_seconds',
      help: 'Time from request arrival to response, by route and status',
      labelNames: ['route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#rankRequests = new Counter({
      name: 'twotower_rank_requests_total',
      help: 'Answered /v1/rank requests by candidate source',
      labelNames: ['source'],
      registers,
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
    // The scoring worker's batches: where a latency tail comes from when the HTTP thread is idle
    // (a slow or late worker) and how well concurrent requests share a ranker run.
    this.#scoringBatchSeconds = new Histogram({
      name: 'twotower_scoring_batch_seconds',
      help: 'Round trip of a batch through the scoring worker, from sending it to its answer',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#scoringBatchJobs = new Histogram({
      name: 'twotower_scoring_batch_requests',
      help: 'Requests per batch sent to the scoring worker',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    });
    this.#threadDeaths = new Counter({
      name: 'twotower_version_thread_deaths_total',
      help: "Worker threads of a served version that stopped unasked (scoring: features and ranker; model: the user tower; index: HNSW search)",
      labelNames: ['thread'],
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
    for (const thread of VERSION_THREADS) this.#threadDeaths.inc({ thread }, 0);
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
    this.#rankRequests.inc({ source });
    if (degradedReason) this.#degraded.inc({ reason: degradedReason });
    for (const [stage, ms] of Object.entries(timings) as Array<[StageName, number]>) {
      let child = this.#stageChildren.get(stage);
      if (!child) {
        // Bound once per stage: prom-client otherwise hashes the label object on every observe,
        // six times a request.
        child = this.#stageSeconds.labels({ stage });
        this.#stageChildren.set(stage, child);
      }
      child.observe(ms / 1000);
    }
  }

  observeRequest(route: string, status: number, seconds: number): void {
    const key = `${route} ${status}`;
    let child = this.#requestChildren.get(key);
    if (!child) {
      child = this.#requestSeconds.labels({ route, status: String(status) });
      this.#requestChildren.set(key, child);
    }
    child.observe(seconds);
  }

  observeScoringBatch(requests: number, seconds: number): void {
    this.#scoringBatchJobs.observe(requests);
    this.#scoringBatchSeconds.observe(seconds);
  }

  countShed(route: string): void {
    this.#shed.inc({ route });
  }

  countThreadDeath(thread: VersionThread): void {
    this.#threadDeaths.inc({ thread });
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
