import type { LoggerOptions } from 'pino';

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
