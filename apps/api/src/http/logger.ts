import { randomBytes } from 'node:crypto';
import { serializeError } from '@harakaflow/core';
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, LoggerOptions } from 'pino';

/**
 * Redaction of credentials and personal data that must never reach a log line (policy §3).
 * Fastify does not log headers or bodies by default; these paths catch what a handler or a
 * plugin logs on purpose.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.secrets',
  '*.token',
  '*.dateOfBirth',
  '*.value',
  '*.ciphertext',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      // Every error, whoever logs it (Fastify itself included), through the one serializer: codes,
      // names and stack frames, never a driver's message, which quotes the query's parameters.
      err: serializeError,
      error: serializeError,
      // The query string can carry tokens: log the path only.
      // A route whose path carries a secret (config.audit.path = 'route') is logged by its pattern.
      req: (req: {
        method: string;
        url: string;
        id: string;
        routeOptions?: { url?: string; config?: { audit?: { path?: string } } };
      }) => ({
        method: req.method,
        path:
          req.routeOptions?.config?.audit?.path === 'route' && req.routeOptions.url
            ? req.routeOptions.url
            : req.url.split('?', 1)[0],
        id: req.id,
      }),
    },
  };
}

/**
 * Fastify makes a pino child logger for every request; with redaction on, building it costs about
 * 5% of a trivial request. This stand-in builds the child only when a line at an enabled level is
 * written, so requests that log nothing (the common case above `info`) pay nothing. Methods live on
 * the prototype: a request costs one small object. A route-level log level needs the real child at
 * once, so it is built eagerly then.
 */
interface LevelLogger extends FastifyBaseLogger {
  isLevelEnabled(level: string): boolean;
}

class LazyChildLogger {
  #real: FastifyBaseLogger | undefined;
  readonly #parent: LevelLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;

  constructor(parent: LevelLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #get(): FastifyBaseLogger {
    return (this.#real ??= this.#parent.child(this.#bindings, this.#options));
  }

  /** Whether a line at `level` would be written (pino's `isLevelEnabled`), without building the child. */
  isLevelEnabled(level: string): boolean {
    return this.#real ? (this.#real as LevelLogger).isLevelEnabled(level) : this.#parent.isLevelEnabled(level);
  }

  #write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    if (!this.#real && !this.#parent.isLevelEnabled(level)) return;
    (this.#get()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#real?.level ?? this.#parent.level;
  }
  set level(level: string) {
    this.#get().level = level;
  }
  fatal(...args: unknown[]) {
    this.#write('fatal', args);
  }
  error(...args: unknown[]) {
    this.#write('error', args);
  }
  warn(...args: unknown[]) {
    this.#write('warn', args);
  }
  info(...args: unknown[]) {
    this.#write('info', args);
  }
  debug(...args: unknown[]) {
    this.#write('debug', args);
  }
  trace(...args: unknown[]) {
    this.#write('trace', args);
  }
  silent() {}
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#get().child(bindings, options);
  }
}

export function lazyChildLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  if (typeof (parent as Partial<LevelLogger>).isLevelEnabled !== 'function' || options.level !== undefined)
    return parent.child(bindings, options);
  return new LazyChildLogger(parent as LevelLogger, bindings, options) as unknown as FastifyBaseLogger;
}

/** Whether `log` would write a line at `level` (true for a logger that cannot say). */
function enabledFor(log: FastifyBaseLogger, level: string): boolean {
  const check = (log as Partial<LevelLogger>).isLevelEnabled;
  return typeof check === 'function' ? check.call(log, level) : true;
}

/**
 * Fastify's per-request lines ("incoming request", "request completed") only when their level is
 * enabled for the request's logger. Fastify builds each line's object (and reads the response
 * time) before the logger drops it; above `info` (the benchmark's `warn`, a production choice)
 * that was work on every request for nothing. The lines, when written, are Fastify's own.
 */
export class AppLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (enabledFor(request.log, 'info')) super.incomingRequest(request, reply, metadata);
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (enabledFor(reply.log, error ? 'error' : 'info')) super.requestCompleted(error, request, reply, metadata);
  }
}

/**
 * Request ids unique across replicas and restarts (a random per-process prefix) without the cost of
 * a UUID per request: `<8 hex>-<counter in base 36>`.
 */
export function requestIdGenerator(): () => string {
  const prefix = randomBytes(4).toString('hex');
  let counter = 0;
  return () => `${prefix}-${(++counter).toString(36)}`;
}
