/**
 * Starts the ranker on the store's current version: load, warm, then listen. Loading and warming
 * happen before the port opens, so a ranker that accepts connections is ready to answer them.
 * Afterwards it follows CURRENT: a new version is loaded and warmed beside the serving one and
 * swapped in without dropping a request.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { loadVersion } from '../shared/store/loadVersion.js';
import type { LoadedVersion } from '../shared/store/types.js';
import { resolveAdminToken } from './adminAuth.js';
import { buildRankerApp, DEFAULT_BUDGET_MS, DEFAULT_MAX_IN_FLIGHT } from './app.js';
import { applyServerGcSettings } from './gcTuning.js';
import { redactPaths } from './httpErrors.js';
import { attachScoringWorker } from './scoring/scoringWorkerClient.js';
import type { RankerMetrics } from './metrics.js';
import { VersionReloader, type ReloadOutcome } from './reloader.js';
import { VersionHolder } from './versionHolder.js';
import { warmVersion } from './warm.js';
import { watchCurrent, type CurrentWatcher } from './watchCurrent.js';

export interface ServeOptions {
  store: string;
  /** 0 picks a free port (the returned url says which). */
  port: number;
  /** Loopback by default: exposing the service is a deliberate choice. */
  host?: string;
  /** An info-level logger (errors, warnings, reloads); default true. */
  logger?: boolean;
  /** Also a log line for every request received and answered; default false (see RankerAppOptions). */
  requestLog?: boolean;
  /** Per-request budget in milliseconds (default 20); null for no deadline. */
  budgetMs?: number | null;
  /** Requests in flight past which /v1 routes answer 503 (default 64). */
  maxInFlight?: number;
  /** Bearer token for /admin/reload; defaults to $TWOTOWER_ADMIN_TOKEN; none disables admin. */
  adminToken?: string;
  /** Follow CURRENT (fs.watch plus polling); default true. */
  watch?: boolean;
  /** Polling period of the CURRENT watch, in milliseconds (default 1000). */
  pollMs?: number;
  /** False sends every request through the live user tower + HNSW (benchmarks the dynamic path). */
  usePrecomputed?: boolean;
  /** Process metrics on /metrics; default true. */
  processMetrics?: boolean;
  /** Coalesce ranker and user-tower runs of requests arriving together. */
  microBatch?: boolean;
  /**
   * Score in a worker thread beside the HTTP thread (default true): features, the ranker run and
   * the ordering leave the main thread, which the HTTP work alone keeps busy under load.
   */
  scoringWorker?: boolean;
  /**
   * A served version that lost a worker thread is replaced by a fresh copy at most this often
   * (default 30 s); a death sooner is replaced when the interval is up.
   */
  replaceIntervalMs?: number;
}

export interface RunningRanker {
  app: FastifyInstance;
  url: string;
  versions: VersionHolder;
  metrics: RankerMetrics;
  /** Serves what CURRENT names now; what the watcher and /admin/reload call. */
  reload(opts?: { force?: boolean }): Promise<ReloadOutcome>;
  /** Stops watching and listening, lets requests in flight finish, then closes the version. */
  close(): Promise<void>;
}

/** The app's logger and metrics, filled in once the app exists (the first version loads before it). */
interface AppParts {
  log?: Pick<FastifyBaseLogger, 'error'>;
  metrics?: RankerMetrics;
  /** Puts a fresh copy of `version` in service if it is the one serving (it lost a worker thread). */
  replaceServing?: (version: LoadedVersion) => void;
}

/**
 * A served version that lost a thread is replaced at most this often: a thread that dies again in
 * every copy (a bad model, a leak) must not keep the ranker loading versions back to back.
 */
const DEFAULT_REPLACE_INTERVAL_MS = 30_000;

/**
 * Loads a version ready to be warmed: with its scoring worker attached when asked for (a worker
 * that cannot start, such as one whose ranker file changed under it, refuses the version).
 */
async function loadServingVersion(store: string, id: string | undefined, scoringWorker: boolean, app: AppParts) {
  // Called at any time after the thread started, even before loadVersion returns.
  let loaded: LoadedVersion | undefined;
  const onThreadDeath = (thread: 'model' | 'index', err: Error) => {
    app.metrics?.countThreadDeath(thread);
    const lost = thread === 'model' ? 'the user tower' : 'HNSW search';
    app.log?.error({ err, version: loaded?.id ?? id ?? 'CURRENT', thread }, `${thread} thread stopped: without ${lost}, live retrieval answers from popularity (degraded) until a fresh copy of the version loads`);
    if (loaded) app.replaceServing?.(loaded);
  };
  const version = await loadVersion(store, id, { onThreadDeath });
  loaded = version;
  if (scoringWorker) {
    try {
      await attachScoringWorker(
        version,
        (err) => {
          app.metrics?.countThreadDeath('scoring');
          app.log?.error({ err, version: version.id }, 'scoring worker stopped; this version computes features on the HTTP thread and runs the ranker in its model thread until a fresh copy loads');
          app.replaceServing?.(version);
        },
        (requests, seconds) => app.metrics?.observeScoringBatch(requests, seconds),
      );
    } catch (err) {
      await version.close().catch(() => undefined);
      throw err;
    }
  }
  return version;
}

export async function serve(opts: ServeOptions): Promise<RunningRanker> {
  applyServerGcSettings();
  const scoringWorker = opts.scoringWorker ?? true;
  // The app's logger exists only once the app does: a worker that died while the first version
  // warmed would go unlogged (the version would still serve, scoring without it).
  const appParts: AppParts = {};
  const first = await loadServingVersion(opts.store, undefined, scoringWorker, appParts);
  const storeRoots = [opts.store, path.resolve(opts.store), await realpath(opts.store).catch(() => opts.store)];
  let app: FastifyInstance | undefined;
  let watcher: CurrentWatcher | undefined;
  try {
    await warmVersion(first);
    const versions = new VersionHolder(first);
    let reloader: VersionReloader | undefined;
    const built = buildRankerApp({
      versions,
      logger: opts.logger ?? true,
      requestLog: opts.requestLog ?? false,
      budgetMs: opts.budgetMs === undefined ? DEFAULT_BUDGET_MS : opts.budgetMs,
      maxInFlight: opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      adminToken: resolveAdminToken(opts.adminToken),
      usePrecomputed: opts.usePrecomputed ?? true,
      processMetrics: opts.processMetrics ?? true,
      microBatch: opts.microBatch,
      // The reloader needs the app's logger, so it is made just after; the port opens later still.
      // A refusal's reason goes to the admin client with the store's location taken out (the log
      // keeps it whole): loadModel's messages, for one, name the absolute model folder.
      reload: async (o) => {
        if (!reloader) throw new Error('reload called before the ranker finished starting');
        const outcome = await reloader.reload(o);
        return outcome.status === 'refused' ? { ...outcome, reason: redactPaths(outcome.reason, storeRoots) } : outcome;
      },
    });
    app = built.app;
    const running = app;
    const log = running.log;
    const { metrics } = built;
    appParts.log = log;
    appParts.metrics = metrics;
    const activeReloader = new VersionReloader({
      store: opts.store,
      holder: versions,
      load: (store, id) => loadServingVersion(store, id, scoringWorker, appParts),
      warm: (v) => warmVersion(v, { warn: (obj, msg) => log.warn(obj, msg) }),
      log,
      onOutcome: (o) => {
        if (o.status !== 'unchanged') metrics.countVersionLoad(o.status);
      },
    });
    reloader = activeReloader;
    const replaceInterval = opts.replaceIntervalMs ?? DEFAULT_REPLACE_INTERVAL_MS;
    let lastReplace = -Infinity;
    let deferred: NodeJS.Timeout | null = null;
    const replaceServing = (version: LoadedVersion): void => {
      // A version still loading is refused by its warm-up if it cannot serve; a retired one is moot.
      if (versions.get() !== version) return;
      const wait = lastReplace + replaceInterval - performance.now();
      if (wait > 0) {
        if (deferred) return;
        log.error({ version: version.id }, `replacing the version again in ${Math.ceil(wait / 1000)} s (at most one replacement per ${replaceInterval / 1000} s); it serves as it can until then`);
        deferred = setTimeout(() => {
          deferred = null;
          replaceServing(version);
        }, wait);
        deferred.unref();
        return;
      }
      lastReplace = performance.now();
      void activeReloader.reload({ replace: true }).catch((err: unknown) => log.error({ err }, 'replacing the version failed'));
    };
    appParts.replaceServing = replaceServing;
    const url = await running.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
    if (opts.watch ?? true) {
      watcher = watchCurrent(
        opts.store,
        () => {
          // Outcomes are logged and counted by the reloader; nothing here can do better.
          void activeReloader.reload().catch((err: unknown) => log.error({ err }, 'reload failed'));
        },
        { pollMs: opts.pollMs, initial: first.id },
      );
    }
    const activeWatcher = watcher;
    return {
      app: running,
      url,
      versions,
      metrics,
      reload: (o) => activeReloader.reload(o),
      async close() {
        if (deferred) clearTimeout(deferred);
        activeWatcher?.close();
        await activeReloader.close();
        await running.close();
        await versions.swap(null);
      },
    };
  } catch (err) {
    watcher?.close();
    await app?.close();
    await first.close();
    throw err;
  }
}
