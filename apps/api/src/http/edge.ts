/**
 * The HTTP edge (issue 13 items 1 to 3): what Fastify and Node answer before a route's handler,
 * error handler or hooks can, brought into the one error shape, with a request id, never echoing
 * the path or a header; the timeouts that bound a whole request; a depth limit on JSON bodies.
 */
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from './error-shape.js';

/** The headers every answer written at the edge carries (the security-headers plugin's, where they apply). */
const EDGE_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' } as const;

/** Fastify's router errors (a bad URL, a parameter too long), in the API's shape. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const [status, code, message] =
    error.code === 'FST_ERR_BAD_URL'
      ? [400, 'HF_BAD_URL', 'The URL is not valid (a malformed percent-encoding)']
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? [414, 'HF_URI_TOO_LONG', 'A path parameter is too long']
        : [400, 'HF_BAD_REQUEST', 'The request cannot be routed'];
  request.log.info({ code, statusCode: status }, 'request refused');
  void reply
    .code(status)
    .headers({ ...EDGE_HEADERS, 'x-request-id': request.id })
    .type('application/json; charset=utf-8')
    .send(errorBody(status, code, message));
}

/**
 * Node's HTTP parser errors and timeouts, which reach no route: written straight to the socket in
 * the API's shape, then the connection closes. There is no request, so the id is a fresh one (in
 * the log line too).
 */
export function clientErrorHandler(newId: () => string, log: (obj: object, msg: string) => void) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // A response already begun on this connection cannot be followed by another: just close.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'HF_REQUEST_TIMEOUT', 'The request was not received in time']
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'HF_HEADERS_TOO_LARGE', 'The request headers are too large']
          : [400, 'HF_BAD_REQUEST', 'The request is not valid HTTP'];
    const id = newId();
    log(
      { code, statusCode: status, parserCode: typeof error.code === 'string' ? error.code : undefined, reqId: id },
      'client error',
    );
    const body = JSON.stringify(errorBody(status, code, message));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${id}\r\nx-content-type-options: nosniff\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    );
    socket.destroySoon?.();
  };
}

export interface Timeouts {
  /** A whole request, headers and body, ms (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
}

/**
 * The server's timeouts. Node checks `requestTimeout` and `headersTimeout` only every
 * `connectionsCheckingInterval` (30 s by default), so that is set to 1 s: a body shorter than its
 * Content-Length, or headers that never end, are answered 408 within about a second of the limit.
 * `keepAliveTimeout` is longer than the 60 s idle timeout of common load balancers, so the proxy,
 * not the app, closes an idle connection (no request lost to a close race).
 */
export function serverTimeouts(t: Timeouts): Pick<
  FastifyServerOptions,
  'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout'
> & {
  serverOptions: Record<string, number>;
} {
  const headersTimeout = Math.min(10_000, t.requestTimeoutMs);
  return {
    requestTimeout: t.requestTimeoutMs,
    keepAliveTimeout: 72_000,
    connectionTimeout: 0,
    serverOptions: { requestTimeout: t.requestTimeoutMs, headersTimeout, connectionsCheckingInterval: 1000 },
  };
}

/** Does a JSON text nest deeper than `max`? One pass, no recursion, strings skipped. */
export function jsonDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return false;
}
