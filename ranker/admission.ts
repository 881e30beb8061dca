/**
 * Load shedding: past `maxInFlight` admitted requests, answer 503 at once instead of queueing.
 * A queue only turns overload into latency for everyone (every queued request misses its
 * deadline anyway); a fast 503 with Retry-After lets a client or load balancer go elsewhere and
 * keeps the admitted requests inside their budget.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './httpErrors.js';

export interface AdmissionOptions {
  maxInFlight: number;
  /** Seconds a refused client is told to wait. */
  retryAfterS?: number;
  onShed?: (route: string) => void;
}

export interface Admission {
  readonly inFlight: number;
  /** An onRequest hook: admits the request or answers 503. */
  hook(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
}

export function createAdmission(opts: AdmissionOptions): Admission {
  let inFlight = 0;
  const retryAfter = String(opts.retryAfterS ?? 1);
  const message = `overloaded: more than ${opts.maxInFlight} requests in flight; retry later`;
  return {
    get inFlight() {
      return inFlight;
    },
    // An onRequest hook runs before the body is read or parsed, so refusing costs next to nothing.
    async hook(req, reply) {
      if (inFlight >= opts.maxInFlight) {
        opts.onShed?.(req.routeOptions.url ?? req.url);
        // Returning the reply tells Fastify the hook answered and the route must not run.
        return reply.code(503).header('retry-after', retryAfter).send(errorBody('OVERLOADED', message));
      }
      inFlight++;
      // 'close' fires once for every response, sent or aborted by the client, so the count
      // cannot leak the way it could by counting on 'finish'.
      reply.raw.once('close', () => {
        inFlight--;
      });
      return undefined;
    },
  };
}
