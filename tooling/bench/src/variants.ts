import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The benchmark's variants. Each builds a ready server for `GET /v1/ping`; `headers` are sent with
 * every request (a consent cookie, an API key). Each package issue adds its plugin alone on `bare()`.
 */
export interface Variant {
  name: string;
  setup(): Promise<{ app: FastifyInstance; headers?: Record<string, string>; close?: () => Promise<void> }>;
}

const pingSchema = { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } as const;

/** Bare Fastify with the same route and response schema as the reference app. */
export function bare(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/v1/ping', { schema: pingSchema }, async () => ({ ok: true }));
  return app;
}

/** Secrets and config for the full stack; DATABASE_URL/REDIS_URL are used when set. */
async function stack(): Promise<FastifyInstance> {
  const { buildApp, parseConfig } = await import('@harakaflow/api');
  const { secretValues: _ignored, ...parsed } = parseConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    // Request logging would dominate the measurement; operators who log every request pay for it.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-bench-')),
  });
  return buildApp({ ...parsed, secrets: { adminApiKey: 'bench-admin-key-0123456789abcdef0123456789' } });
}

export const variants: Variant[] = [
  { name: 'bare', setup: async () => ({ app: bare() }) },
  { name: 'stack', setup: async () => ({ app: await stack() }) },
];
