/** POST /v1/rank: the wire ↔ pipeline translation, with the request's deadline and version lease. */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../httpErrors.js';
import type { RankerMetrics } from '../metrics.js';
import { rank } from '../pipeline/rank.js';
import { DEFAULT_K, errorResponseSchema, rankBodySchema, rankResponseSchema, type RankBody } from '../schemas.js';
import { serializeRankResponse } from '../serializeRank.js';
import type { VersionHolder } from '../versionHolder.js';

export interface RankRouteOptions {
  versions: VersionHolder;
  metrics: RankerMetrics;
  /** Milliseconds from arrival until a response must leave; null for no deadline. */
  budgetMs: number | null;
  /** False sends every request through live retrieval (to measure the dynamic path). */
  usePrecomputed: boolean;
  /** Coalesce ranker and user-tower runs of concurrent requests. */
  microBatch: boolean;
}

const JSON_UTF8 = 'application/json; charset=utf-8';

export function registerRankRoute(app: FastifyInstance, opts: RankRouteOptions): void {
  app.post<{ Body: RankBody }>(
    '/v1/rank',
    {
      schema: {
        summary: 'Rank items for a user and session',
        body: rankBodySchema,
        response: { 200: rankResponseSchema, '4xx': errorResponseSchema, '5xx': errorResponseSchema },
      },
    },
    async (req, reply) => {
      // The clock starts at arrival, not here: time spent reading and parsing the body counts.
      const arrivedAt = performance.now() - reply.elapsedTime;
      const lease = opts.versions.acquire();
      if (!lease) return reply.code(503).send(errorBody('NOT_READY', 'no index version is loaded'));
      const body = req.body;
      try {
        const result = await rank(
          { version: lease.version, log: req.log, microBatch: opts.microBatch },
          {
            userId: body.userId,
            k: body.k ?? DEFAULT_K,
            sessionItems: body.session?.items ?? [],
            exclude: body.exclude ?? [],
            candidates: body.candidates,
            explain: body.explain ?? false,
            deadline: opts.budgetMs === null ? undefined : arrivedAt + opts.budgetMs,
            usePrecomputed: opts.usePrecomputed,
          },
        );
        opts.metrics.observeRank(result.source, result.timingsMs, result.degradedReason);
        // Serialised here rather than by the schema's serializer: the same bytes for less CPU
        // (serializeRank.ts). The schema still documents the body (OpenAPI) and shapes errors.
        return reply.type(JSON_UTF8).send(serializeRankResponse(result, performance.now() - arrivedAt));
      } finally {
        lease.release();
      }
    },
  );
}
