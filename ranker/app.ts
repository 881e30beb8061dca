/**
 * The ranker's HTTP face. Routes only translate between the wire and the pipeline; the version
 * to serve comes from `getVersion`, so loading and swapping versions stay outside the routes.
 */
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyInstance } from 'fastify';
import type { LoadedVersion } from '../shared/store/types.js';
import { errorBody, formatSchemaErrors, toErrorReply } from './httpErrors.js';
import { rank } from './pipeline/rank.js';
import {
  DEFAULT_K,
  errorResponseSchema,
  healthResponseSchema,
  rankBodySchema,
  rankResponseSchema,
  readyResponseSchema,
  type RankBody,
} from './schemas.js';

export interface RankerAppOptions {
  getVersion: () => LoadedVersion | null;
  logger?: boolean;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
}

const DEFAULT_BODY_LIMIT = 1024 * 1024;

export function buildRankerApp(opts: RankerAppOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    schemaErrorFormatter: formatSchemaErrors,
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

  const notReady = () => errorBody('NOT_READY', 'no index version is loaded');

  app.get('/healthz', { schema: { response: { 200: healthResponseSchema } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { response: { 200: readyResponseSchema, 503: errorResponseSchema } } },
    async (_req, reply) => {
      const version = opts.getVersion();
      if (!version) return reply.code(503).send(notReady());
      return { status: 'ready', indexVersion: version.id };
    },
  );

  app.post<{ Body: RankBody }>(
    '/v1/rank',
    {
      schema: {
        body: rankBodySchema,
        response: { 200: rankResponseSchema, '4xx': errorResponseSchema, '5xx': errorResponseSchema },
      },
    },
    async (req, reply) => {
      const t0 = performance.now();
      const version = opts.getVersion();
      if (!version) return reply.code(503).send(notReady());
      const body = req.body;
      const result = await rank(
        { version, log: req.log },
        {
          userId: body.userId,
          k: body.k ?? DEFAULT_K,
          sessionItems: body.session?.items ?? [],
          exclude: body.exclude ?? [],
        },
      );
      return { ...result, tookMs: performance.now() - t0 };
    },
  );

  return app;
}
