/** Liveness and readiness: what an orchestrator probes. Never shed, never behind a token. */
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../httpErrors.js';
import { errorResponseSchema, healthResponseSchema, readyResponseSchema } from '../schemas.js';
import type { VersionHolder } from '../versionHolder.js';

export function registerHealthRoutes(app: FastifyInstance, versions: VersionHolder): void {
  app.get('/healthz', { schema: { summary: 'The process is alive', response: { 200: healthResponseSchema } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'A version is loaded and warmed up',
        response: { 200: readyResponseSchema, 503: errorResponseSchema },
      },
    },
    async (_req, reply) => {
      // Only warmed versions ever enter the holder, so "present" means "ready".
      const version = versions.get();
      if (!version) return reply.code(503).send(errorBody('NOT_READY', 'no index version is loaded'));
      return { status: 'ready', indexVersion: version.id };
    },
  );
}
