import type { FastifyError, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { serializeError } from '@harakaflow/core';
import { isConnectionLoss } from '@harakaflow/db';

/** The one error body of the API (ARCHITECTURE.md, contract item 7). */
export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

// Fastify's own errors, renamed into the API's stable HF_ codes. Anything 4xx without an HF_ code
// that is not listed here becomes HF_BAD_REQUEST; every 5xx becomes HF_INTERNAL with no detail.
const FASTIFY: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'HF_MALFORMED_JSON', 'The request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'HF_MALFORMED_JSON', 'The request body is empty but its content type is JSON'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'HF_BODY_TOO_LARGE', 'The request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'HF_UNSUPPORTED_MEDIA_TYPE', 'This content type is not accepted'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'HF_BAD_CONTENT_LENGTH', 'Content-Length does not match the body'],
};

/**
 * The package 500s whose code reaches the client (issue 13 item 7), each with the API's own
 * message: never the error's, which the API did not write. Every other 5xx but a package's 503 is
 * HF_INTERNAL with no detail.
 */
const KEPT_500: Record<string, string> = {
  HF_VAULT_DECRYPT_FAILED: 'A stored record is damaged and cannot be opened',
  HF_WEBHOOK_BAD_SECRET: 'A webhook secret configured on this server is not valid',
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_TEXT[statusCode] ?? 'Error', message };
}

/** A query failed because the database could not be reached or went away (a restart, a failover). */
export const DATABASE_UNAVAILABLE = 'HF_DATABASE_UNAVAILABLE';

/** Maps any thrown error to the API's shape. Pure, so it can be tested alone. */
export function toErrorBody(error: FastifyError): ErrorBody {
  if (error.validation) return errorBody(400, 'HF_VALIDATION_FAILED', error.message);
  const known = error.code ? FASTIFY[error.code] : undefined;
  if (known) return errorBody(...known);
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (status >= 500) {
    // 503s the packages raise on purpose (a store down, fail-closed) keep their code and message.
    if (status === 503 && error.code?.startsWith('HF_')) return errorBody(503, error.code, error.message);
    if (status === 500 && error.code && Object.hasOwn(KEPT_500, error.code))
      return errorBody(500, error.code, KEPT_500[error.code]!);
    // The database restarting or failing over: the request may be retried (Retry-After), not a bug.
    if (isConnectionLoss(error))
      return errorBody(503, DATABASE_UNAVAILABLE, 'The database cannot be reached right now; retry shortly');
    return errorBody(500, 'HF_INTERNAL', 'Something went wrong on our side; the request id identifies it in our logs');
  }
  if (error.code?.startsWith('HF_')) return errorBody(status, error.code, error.message);
  return errorBody(status, 'HF_BAD_REQUEST', STATUS_TEXT[status] ?? 'Bad request');
}

const errorShape: FastifyPluginAsync = async (app) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const body = toErrorBody(error);
    // The error object may carry SQL or driver detail: never to the client, and to the log only
    // through the one serializer (codes, names, stack frames; no message, no parameters).
    if (body.statusCode >= 500) request.log.error({ err: serializeError(error) }, 'request failed');
    else request.log.info({ code: body.code, statusCode: body.statusCode }, 'request refused');
    if (body.code === DATABASE_UNAVAILABLE) void reply.header('retry-after', '1');
    // Headers a refusing plugin set (Retry-After, RateLimit) stay; the body is always ours.
    return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    return reply.code(404).send(errorBody(404, 'HF_NOT_FOUND', `Route ${request.method} ${path} not found`));
  });
};

export default fp(errorShape, { name: 'harakaflow-error-shape', fastify: '5.x' });
