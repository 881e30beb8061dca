/** GET /v1/similar/:itemId: item-to-item neighbours from the serving version's HNSW index. */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../httpErrors.js';
import { similarItems } from '../pipeline/similar.js';
import {
  DEFAULT_K,
  errorResponseSchema,
  MAX_K,
  similarParamsSchema,
  similarQuerySchema,
  similarResponseSchema,
  type SimilarParams,
  type SimilarQuery,
} from '../schemas.js';
import type { VersionHolder } from '../versionHolder.js';

export function registerSimilarRoute(app: FastifyInstance, versions: VersionHolder): void {
  app.get<{ Params: SimilarParams; Querystring: SimilarQuery }>(
    '/v1/similar/:itemId',
    {
      schema: {
        summary: 'Items nearest to an item in the embedding space',
        params: similarParamsSchema,
        querystring: similarQuerySchema,
        response: { 200: similarResponseSchema, '4xx': errorResponseSchema, '5xx': errorResponseSchema },
      },
    },
    async (req, reply) => {
      const arrivedAt = performance.now() - reply.elapsedTime;
      const k = req.query.k === undefined ? DEFAULT_K : Number(req.query.k);
      if (k > MAX_K) return reply.code(400).send(errorBody('BAD_REQUEST', `querystring/k must be <= ${MAX_K}`));
      const lease = versions.acquire();
      if (!lease) return reply.code(503).send(errorBody('NOT_READY', 'no index version is loaded'));
      try {
        const { version } = lease;
        const { itemId } = req.params;
        const item = version.itemIndex.get(itemId);
        if (item === undefined) {
          return reply.code(404).send(errorBody('NOT_FOUND', `item '${itemId}' is not in index version ${version.id}`));
        }
        const items = await similarItems(version, item, k);
        return { itemId, items, indexVersion: version.id, tookMs: performance.now() - arrivedAt };
      } finally {
        lease.release();
      }
    },
  );
}
