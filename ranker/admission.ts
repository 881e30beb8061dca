/**
 * Load shedding: past `maxInFlight` admitted requests, answer 503 at once instead of queueing.
 * A queue only turns overload into latency for everyone (every queued request misses its
 * deadline anyway); a fast 503 with Retry-After lets a client or load balancer go elsewhere and
 * keeps the admitted requests inside their budget.
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { errorBody } from './httpErrors.js';

export interface AdmissionOptions {
  maxInFlight: number;
  /** Seconds a refused client is told to wait. */
  retryAfterS?: number;
  onShed?: (route: string) => void;
}

export interface Admission {
  readonly inFlight: number;
  /**
   * An onRequest hook: admits the request (calls done) or answers 503 (and does not). A callback
   * hook rather than an async one, so that admitting costs Fastify no promise and its turns.
   */
  hook(req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void;
}

export function createAdmission(opts: AdmissionOptions): Admission {
  let inFlight = 0;
  const retryAfter = String(opts.retryAfterS ?? 1);
  const message = `overloaded: more than ${opts.maxInFlight} requests in flight; retry later`;
  const release = (): void => {
    inFlight--;
  };
  return {
    get inFlight() {
      return inFlight;
    },
    // An onRequest hook runs before the body is read or parsed, so refusing costs next to nothing.
    hook(req, reply, done) {
      if (inFlight >= opts.maxInFlight) {
        opts.onShed?.(req.routeOptions.url ?? req.url);
        // Answering without calling done tells Fastify the hook answered and the route must not run.
        reply.code(503).header('retry-after', retryAfter).send(errorBody('OVERLOADED', message));
        return;
      }
      inFlight++;
      // 'close' fires once for every response, sent or aborted by the client, so the count
      // cannot leak the way it could by counting on 'finish'.
      reply.raw.once('close', release);
      done();
    },
  };
}
