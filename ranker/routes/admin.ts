/** POST /admin/reload: serve what CURRENT names now, behind a bearer token. */
import type { FastifyInstance } from 'fastify';
import { requireAdminToken } from '../adminAuth.js';
import { errorBody } from '../httpErrors.js';
import type { ReloadOutcome } from '../reloader.js';
import { errorResponseSchema, reloadResponseSchema } from '../schemas.js';

export interface AdminRouteOptions {
  /** The configured token, or null for admin routes disabled. */
  token: string | null;
  /** Null when this app has no store to reload from (an app built around a fixed version). */
  reload: ((opts: { force: boolean }) => Promise<ReloadOutcome>) | null;
}

export function registerAdminRoutes(app: FastifyInstance, opts: AdminRouteOptions): void {
  app.post(
    '/admin/reload',
    {
      onRequest: requireAdminToken(opts.token),
      schema: {
        summary: 'Load, warm and swap in the version CURRENT names (retries one refused before)',
        security: [{ bearerAuth: [] }],
        response: { 200: reloadResponseSchema, '4xx': errorResponseSchema, '5xx': errorResponseSchema },
      },
    },
    async (_req, reply) => {
      if (!opts.reload) return reply.code(409).send(errorBody('NO_STORE', 'this ranker was not started on a version store'));
      // An operator asking explicitly wants another try even at a version refused before.
      const outcome = await opts.reload({ force: true });
      if (outcome.status === 'refused') {
        return reply.code(409).send(errorBody('VERSION_REFUSED', `version ${outcome.versionId} refused: ${outcome.reason}`));
      }
      if (outcome.status === 'unchanged') {
        if (outcome.indexVersion === null) return reply.code(503).send(errorBody('NOT_READY', 'no index version is loaded'));
        return { status: 'unchanged', indexVersion: outcome.indexVersion };
      }
      return {
        status: 'swapped',
        indexVersion: outcome.indexVersion,
        ...(outcome.previousVersion ? { previousVersion: outcome.previousVersion } : {}),
      };
    },
  );
}
