/**
 * The ranker's HTTP face. Routes only translate between the wire and the pipeline; the version to
 * serve comes from a VersionHolder, so loading and swapping versions stay outside the routes.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { createAdmission } from './admission.js';
import { answerClientError, errorBody, formatSchemaErrors, toErrorReply } from './httpErrors.js';
import { RankerMetrics } from './metrics.js';
import { registerOpenApi, registerOpenApiRoute } from './openapi.js';
import type { ReloadOutcome } from './reloader.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerRankRoute } from './routes/rank.js';
import { registerSimilarRoute } from './routes/similar.js';
import type { VersionHolder } from './versionHolder.js';

export interface RankerAppOptions {
  versions: VersionHolder;
  /** An info-level logger (errors, warnings, reloads); off by default. */
  logger?: boolean;
  /**
   * Also log every request received and answered (Fastify's two lines per request); off by
   * default. With the logger on it cost about 100 us of CPU per request (server CPU per request
   * over HTTP at 1000/s, stdout to /dev/null: 442-454 with, 346-351 without), a third of what
   * the precomputed path costs; the request histogram on /metrics carries the same counts.
   */
  requestLog?: boolean;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
  /** Per-request budget in milliseconds from arrival; null for no deadline. Default 20. */
  budgetMs?: number | null;
  /** Requests in flight past which /v1 routes answer 503. */
  maxInFlight?: number;
  /** Bearer token of the admin routes; null or absent leaves them disabled (403). */
  adminToken?: string | null;
  /** What POST /admin/reload runs; absent when the app has no store to reload from. */
  reload?: (opts: { force: boolean }) => Promise<ReloadOutcome>;
  /** False sends every request through live retrieval (benchmarks the dynamic path). */
  usePrecomputed?: boolean;
  /** Coalesce ranker and user-tower runs of requests arriving together (default DEFAULT_MICRO_BATCH). */
  microBatch?: boolean;
  /** Also export process metrics (CPU, heap, event-loop lag); off by default for short-lived apps. */
  processMetrics?: boolean;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;
const MAX_PARAM_BYTES = 256 * 12;
export const DEFAULT_BUDGET_MS = 20;
/**
 * A request costs about half a millisecond of CPU on the precomputed path (measured on the
 * 2-core benchmark box), so 64 admitted at once is about 30 ms of work: a burst that size is
 * still answered (the late part in retrieval order, degraded, once the 20 ms budget is gone),
 * which serves a client better than a 503. Past it the queue only grows, and a fast 503 with
 * Retry-After is the better answer. 32 measured worse: short stalls (GC, a noisy neighbour)
 * made bursts that shed at half the sustainable rate.
 */
export const DEFAULT_MAX_IN_FLIGHT = 64;

/**
 * Off: on the 2-core box it measured no faster (server CPU per request was no lower, and the
 * extra event-loop hop cost deadline misses), because the ranker's run is a small share of a
 * request next to HTTP and feature work. The option stays for larger models or ranker depths.
 * (That was measured while the model ran on the HTTP thread; it now runs in the version's model
 * thread, where batching also saves messages.) It batches the user tower, and the ranker when
 * there is no scoring worker; the scoring worker
 * (serve's default) batches the ranker runs of concurrent requests in any case.
 */
export const DEFAULT_MICRO_BATCH = false;

export interface RankerApp {
  app: FastifyInstance;
  metrics: RankerMetrics;
}

export function buildRankerApp(opts: RankerAppOptions): RankerApp {
  const app = Fastify({
    logger: opts.logger ?? false,
    logController: new LogController({ disableRequestLogging: !(opts.requestLog ?? false) }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    schemaErrorFormatter: formatSchemaErrors,
    // Ids may be up to 256 characters (the schemas say so); percent-encoded, an astral one takes
    // 12 bytes. The router's default of 100 refused ids the schema accepts, with a 414.
    routerOptions: { maxParamLength: MAX_PARAM_BYTES },
    // The router's own refusals (a malformed %-escape, an over-long parameter) and the HTTP
    // parser's (a malformed request line or header) would otherwise answer in Fastify's shape,
    // not {error: {code, message}}.
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = toErrorReply(err);
      // The option's generic reply type resolves to no status codes at all; this is the plain reply.
      void (reply as unknown as FastifyReply).code(status).send(body);
    },
    clientErrorHandler: answerClientError,
    ajv: {
      customOptions: {
        // Fastify's defaults would silently strip unknown fields and turn "5" into 5; a client
        // sending either has a bug it should hear about.
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: true,
      },
    },
  });
  const { versions } = opts;
  // The API speaks JSON only; without this Fastify would accept text/plain and answer 400
  // "body must be object" where 415 says what is wrong.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err, req, reply) => {
    const { status, body, internal } = toErrorReply(err);
    if (internal) req.log.error({ err }, 'request failed');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)),
  );

  const maxInFlight = opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const admission = createAdmission({ maxInFlight, onShed: (route) => metrics.countShed(route) });
  const metrics = new RankerMetrics({
    getVersion: () => versions.get(),
    getInFlight: () => admission.inFlight,
    processMetrics: opts.processMetrics ?? false,
  });

  // A callback hook, not an async one: Fastify then runs it without a promise and its turns.
  app.addHook('onResponse', (req, reply, done) => {
    metrics.observeRequest(req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  registerOpenApi(app);
  void app.register(async (scope) => {
    registerHealthRoutes(scope, versions);
    registerMetricsRoute(scope, metrics);
    registerAdminRoutes(scope, { token: opts.adminToken ?? null, reload: opts.reload ?? null });
    registerOpenApiRoute(scope, app);
    // Only the serving routes are shed: probes, metrics and the admin route must answer under
    // overload, which is when they matter most.
    await scope.register(async (serving) => {
      serving.addHook('onRequest', admission.hook);
      registerRankRoute(serving, {
        versions,
        metrics,
        budgetMs: opts.budgetMs === undefined ? DEFAULT_BUDGET_MS : opts.budgetMs,
        usePrecomputed: opts.usePrecomputed ?? true,
        microBatch: opts.microBatch ?? DEFAULT_MICRO_BATCH,
      });
      registerSimilarRoute(serving, versions);
    });
  });

  return { app, metrics };
}
