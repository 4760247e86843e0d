import type { FastifyBaseLogger } from 'fastify';
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
      // The query string can carry tokens: log the path only.
      req: (req: { method: string; url: string; id: string }) => ({
        method: req.method,
        path: req.url.split('?', 1)[0],
        id: req.id,
      }),
    },
  };
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const LEVELS: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * Fastify makes a pino child logger for every request; with redaction on, building it costs about
 * 5% of a trivial request. This child is built only when a line at an enabled level is written,
 * so requests that log nothing (the common case above `info`) pay nothing. A route-level log level
 * needs the real child at once, so it is built eagerly then.
 */
export function lazyChildLogger(
  parent: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  const enabled = (parent as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.bind(parent);
  if (!enabled || options.level !== undefined) return parent.child(bindings, options);
  let real: FastifyBaseLogger | undefined;
  const get = () => (real ??= parent.child(bindings, options));
  const logger = {
    get level() {
      return real?.level ?? parent.level;
    },
    set level(level: string) {
      get().level = level;
    },
    silent: () => {},
    child: (more: Bindings, opts?: ChildLoggerOptions) => get().child(more, opts),
  } as Record<string, unknown>;
  for (const level of LEVELS) {
    logger[level] = (...args: unknown[]) => {
      if (!enabled(level) && !real) return;
      (get()[level] as (...a: unknown[]) => void)(...args);
    };
  }
  return logger as unknown as FastifyBaseLogger;
}
