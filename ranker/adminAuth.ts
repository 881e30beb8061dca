/**
 * Bearer-token check for the admin routes. The comparison is constant-time (both sides hashed to
 * the same length first, as timingSafeEqual requires), so response timing does not reveal how
 * much of a guessed token was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './httpErrors.js';

export const ADMIN_TOKEN_ENV = 'TWOTOWER_ADMIN_TOKEN';

/** The configured token: the option wins over the environment; empty means none. */
export function resolveAdminToken(fromOptions: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const token = fromOptions ?? env[ADMIN_TOKEN_ENV];
  return token ? token : null;
}

export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** An onRequest hook: lets a request with the right bearer token through, answers 401/403 otherwise. */
export function requireAdminToken(token: string | null) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (token === null) {
      // No token configured means the admin API is off, not open.
      return reply.code(403).send(errorBody('FORBIDDEN', `admin routes are disabled: set ${ADMIN_TOKEN_ENV} to enable them`));
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !tokensMatch(match[1], token)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="twotower-admin"')
        .send(errorBody('UNAUTHORIZED', 'a valid bearer token is required'));
    }
    return undefined;
  };
}
