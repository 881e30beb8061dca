/**
 * Every error leaves the ranker as {error: {code, message}}. Client mistakes get a 4xx whose
 * message names the offending field; anything else is a 500 with a fixed message, because a
 * stack trace or a file path tells a client nothing it can act on and tells an attacker a lot.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifySchemaValidationError, FastifyServerOptions } from 'fastify';

/** Fastify does not export this name from its entry point. */
type SchemaErrorDataVar = Parameters<NonNullable<FastifyServerOptions['schemaErrorFormatter']>>[1];

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  431: 'HEADERS_TOO_LARGE',
  503: 'NOT_READY',
};

/**
 * A message for a client with the host's folders taken out: each of `roots` (with its trailing
 * slash) is dropped, so paths under it read relative to it, and any other absolute path that
 * remains is reduced to its last component. The full message stays in the server's log.
 */
export function redactPaths(message: string, roots: string[]): string {
  let out = message;
  for (const root of roots.filter((r) => r.length > 1).sort((a, b) => b.length - a.length)) {
    out = out.split(root.endsWith('/') ? root : `${root}/`).join('');
  }
  return out.replace(/(^|[\s'"(=:,])\/(?:[^\s'"()/,]+\/)+([^\s'"()/,]*)/g, (_m, lead: string, last: string) => `${lead}…/${last}`);
}

/** The status and body to answer for an error thrown anywhere in a request. */
export function toErrorReply(thrown: unknown): { status: number; body: ErrorBody; internal: boolean } {
  const err = (thrown instanceof Error ? thrown : new Error(String(thrown))) as Partial<FastifyError> & Error;
  if (err.validation) return { status: 400, body: errorBody('BAD_REQUEST', err.message), internal: false };
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Fastify's own 4xx messages (bad JSON, wrong media type, body too large) are written for
    // clients and carry no internals.
    const message =
      status === 415
        ? 'unsupported media type: send application/json'
        : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
          ? // Fastify's parser answers the same for both and drops the cause; the client should
            // know that a well-formed body can be refused for its keys.
            'body is not valid JSON, or holds a forbidden key (__proto__, or constructor with prototype)'
          : err.message;
    return { status, body: errorBody(CODE_BY_STATUS[status] ?? 'BAD_REQUEST', message), internal: false };
  }
  return { status: 500, body: errorBody('INTERNAL', 'internal error'), internal: true };
}

/**
 * Ajv's messages say "must NOT have additional properties" without naming the property, and
 * "must have required property 'x'" about the parent; both are rewritten to name the field.
 */
export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: SchemaErrorDataVar): Error {
  return new Error(errors.map((e) => describeSchemaError(e, dataVar)).join('; '));
}

function describeSchemaError(e: FastifySchemaValidationError, dataVar: string): string {
  const at = dataVar + (e.instancePath ?? '');
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
    return `${at}/${params.missingProperty} is required`;
  }
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return `${at}/${params.additionalProperty} is not an allowed property`;
  }
  return `${at} ${e.message ?? 'is invalid'}`;
}

/**
 * Fastify's clientErrorHandler: the HTTP parser refused what arrived on a socket (a malformed
 * request line or header, headers past the size limit, a request that took too long), before any
 * route could see it. Answers in the API's error shape and closes the connection, as Node does.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'the request took too long to arrive']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'the request headers are larger than the server accepts']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = JSON.stringify(errorBody(CODE_BY_STATUS[status] ?? 'BAD_REQUEST', message));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
