import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONSENT_SECRET,
  peerCookieSigned,
  peerPinoLog,
  peerRateLimit,
  peerStack,
  pingSchema,
  redisClient,
} from './variants-peers.js';

/**
 * The benchmark's variants. Each builds a ready server for `GET /v1/ping`; `headers` are sent with
 * every request (a consent cookie, an API key). Each package issue adds its plugin alone on `bare()`.
 */
export interface Variant {
  name: string;
  /** The peer variant it is compared with: the library a user would pick instead. */
  peer?: string | undefined;
  setup(): Promise<{
    app: FastifyInstance;
    headers?: Record<string, string>;
    path?: string;
    close?: () => Promise<void>;
    quiesce?: () => Promise<void>;
  }>;
}

/** Bare Fastify with the same route and response schema as the reference app. */
export function bare(): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/v1/ping', { schema: pingSchema }, async () => ({ ok: true }));
  return app;
}

/**
 * Secrets and config for the full stack; DATABASE_URL when set; REDIS_URL only when `redis`
 * (stack-redis, stack-account, stack-new-visitor). Without it the app keeps its quotas where it
 * keeps everything else: in Postgres with DATABASE_URL, in memory with PGlite.
 */
async function stack(redis = false): Promise<FastifyInstance> {
  const { buildApp, parseConfig } = await import('@harakaflow/api');
  const { secretValues: _ignored, ...parsed } = parseConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    REDIS_URL: redis ? process.env.REDIS_URL : undefined,
    // Request logging would dominate the measurement; operators who log every request pay for it.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    // The load generator is one client: limits high enough that it is measured, not refused.
    QUOTA_ANON_RPM: '100000000',
    QUOTA_FREE_RPM: '100000000',
    // The audit log's lean format (issue 29); AUDIT_CHAIN_VERSION=2 measures the earlier one.
    AUDIT_CHAIN_VERSION: process.env.AUDIT_CHAIN_VERSION ?? '3',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-bench-')),
  });
  return buildApp(
    {
      ...parsed,
      secrets: {
        adminApiKey: 'bench-admin-key-0123456789abcdef0123456789',
        consentSecrets: CONSENT_SECRET,
        ageGateSecrets: 'bench-age-gate-secret-0123456789abcdef012',
        vaultKeys: `bench:${Buffer.alloc(32, 1).toString('base64')}`,
        auditCheckpointKeys: 'bench-audit-checkpoint-0123456789abcdef0',
        dataRightsSigningKeys: `bench:${Buffer.alloc(32, 2).toString('base64')}`,
        dataRightsSubjectKey: 'bench-data-rights-subject-key-0123456789ab',
        notifyUnsubscribeSecrets: 'bench-notify-unsubscribe-0123456789abcdef',
      },
    },
    process.env.DATABASE_URL ? { database: (await database(4)).handle } : {},
  );
}

/** A returning visitor of the stack: the analytics cookie already set, so the response sets none (steady state). */
async function returningVisitor(redis: boolean) {
  const app = await stack(redis);
  return { app, headers: { cookie: 'hf_aid=returning-visitor' }, quiesce: () => app.audit.flush() };
}

/** A database for plugins that need one: DATABASE_URL when set (a pool of `max`), else in-memory PGlite. */
async function database(max?: number) {
  const { createDatabase, migrate } = await import('@harakaflow/db');
  const handle = await createDatabase({ url: process.env.DATABASE_URL, max });
  return { handle, migrate };
}

/** @harakaflow/consent alone; the request carries a valid consent cookie (a refusal). */
async function consentVariant() {
  const { default: cookie } = await import('@fastify/cookie');
  const { default: consent, consentMigrations } = await import('@harakaflow/consent');
  const { encodeDecision } = await import('@harakaflow/consent/internals');
  const { handle, migrate } = await database();
  await migrate(handle.db, [consentMigrations]);
  const app = bare();
  await app.register(cookie);
  await app.register(consent, {
    secrets: [CONSENT_SECRET],
    db: handle.db,
    policies: [{ version: 'v1', publishedAt: '2025-01-01', effectiveAt: '2025-01-01', material: true }],
    cookies: { hf_aid: 'analytics' },
  });
  const now = Math.floor(Date.now() / 1000);
  // The cookie as a browser holds it: the plugin's default name with `secure` (issue 12 item 4).
  // A legacy `hf_consent` would be re-issued under the new name on every request of a client that
  // never keeps it.
  const name = '__Host-hf_consent';
  const value = encodeDecision(
    {
      id: 'benchbenchbenchbench00',
      categories: [],
      version: 'v1',
      decidedAt: now,
      expiresAt: now + 86_400,
      source: 'user',
      gpc: false,
    },
    name,
    CONSENT_SECRET,
  );
  return { app, headers: { cookie: `${name}=${value}` }, close: () => handle.close() };
}

/** @harakaflow/age-gate alone: a verified subject on a protected route. */
async function ageGateVariant() {
  const { default: ageGate, ageGateMigrations, recordVerification } = await import('@harakaflow/age-gate');
  const { handle, migrate } = await database();
  await migrate(handle.db, [ageGateMigrations]);
  await recordVerification(handle.db, 'bench-subject', {
    verifiedAt: new Date(),
    method: 'self-declared',
    minimumAge: 18,
  });
  const app = bare();
  await app.register(ageGate, {
    db: handle.db,
    secrets: ['bench-age-gate-secret-0123456789abcdef012'],
    protectPrefixes: ['/v1'],
    subject: (request) => request.headers['x-subject'] as string | undefined,
  });
  return { app, headers: { 'x-subject': 'bench-subject' }, close: () => handle.close() };
}

/** @harakaflow/audit alone: one access event per request, batched to the database. */
async function auditVariant() {
  const { default: audit, auditMigrations } = await import('@harakaflow/audit');
  const { handle, migrate } = await database();
  await migrate(handle.db, [auditMigrations]);
  const app = bare();
  // The lean format of issue 29 (AUDIT_CHAIN_VERSION=2 measures the earlier one).
  const chainVersion = Number(process.env.AUDIT_CHAIN_VERSION ?? 3) as 1 | 2 | 3;
  // Batches by binary COPY on Postgres (the default, 'auto'); BENCH_AUDIT_COPY=0 measures UNNEST.
  const copy = process.env.BENCH_AUDIT_COPY === '0' ? false : 'auto';
  await app.register(audit, {
    db: handle.db,
    checkpointKeys: ['bench-audit-checkpoint-0123456789abcdef0'],
    spillDir: false,
    chainVersion,
    copy,
  });
  return {
    app,
    headers: {
      'user-agent':
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    },
    close: () => handle.close(),
    // Its batches flushed before the next variant is measured: no write of this one lands in another's window.
    quiesce: () => app.audit.flush(),
  };
}

/** @harakaflow/quota alone: an anonymous client under its limit (the limit is never reached). */
async function quotaVariant(store: 'memory' | 'redis') {
  const { default: quota } = await import('@harakaflow/quota');
  // The plugin adds its limits to routes declared after it: register it first, then the route.
  const app = Fastify({ logger: false });
  const redis = store === 'redis' ? await redisClient() : undefined;
  if (redis)
    await app.register(quota, {
      store: 'redis',
      redis,
      anonymous: { requestsPerMinute: 100_000_000 },
      keyPrefix: `hf:bench:${process.pid}:`,
    });
  else await app.register(quota, { anonymous: { requestsPerMinute: 100_000_000 } });
  app.get('/v1/ping', { schema: pingSchema }, async () => ({ ok: true }));
  return { app, close: async () => redis?.disconnect() };
}

export const variants: Variant[] = [
  { name: 'bare', setup: async () => ({ app: bare() }) },
  { name: 'stack', setup: () => returningVisitor(false) },
  // The same with its quotas in Redis (several replicas sharing them), when REDIS_URL is set.
  ...(process.env.REDIS_URL ? [{ name: 'stack-redis', peer: 'peer-stack', setup: () => returningVisitor(true) }] : []),
  { name: 'consent', peer: 'peer-cookie-signed', setup: consentVariant },
  { name: 'age-gate', setup: ageGateVariant },
  { name: 'audit', peer: 'peer-pino-log', setup: auditVariant },
  { name: 'quota-memory', peer: 'peer-rate-limit', setup: () => quotaVariant('memory') },
  // Only when REDIS_URL is set: the limits in Redis, one round trip per request.
  ...(process.env.REDIS_URL
    ? [{ name: 'quota-redis', peer: 'peer-rate-limit-redis', setup: () => quotaVariant('redis') }]
    : []),
  { name: 'peer-pino-log', setup: peerPinoLog },
  { name: 'peer-rate-limit', setup: () => peerRateLimit('memory') },
  ...(process.env.REDIS_URL ? [{ name: 'peer-rate-limit-redis', setup: () => peerRateLimit('redis') }] : []),
  { name: 'peer-cookie-signed', setup: peerCookieSigned },
  // Only when REDIS_URL is set, like the stack-redis it is compared with.
  ...(process.env.REDIS_URL ? [{ name: 'peer-stack', setup: peerStack }] : []),
  {
    // An authenticated read: GET /v1/me with an API key, resolved through AUTH_CACHE_MS's cache.
    name: 'stack-account',
    setup: async () => {
      const app = await stack(true);
      const created = await app.inject({
        method: 'POST',
        url: '/v1/accounts',
        payload: { name: 'Bench', email: `bench.${process.pid}.${Date.now()}@example.com`, dateOfBirth: '1990-01-01' },
      });
      if (created.statusCode !== 201) throw new Error(`stack-account: signup answered ${created.statusCode}`);
      const apiKey = (created.json() as { apiKey: string }).apiKey;
      return {
        app,
        path: '/v1/me',
        headers: { authorization: `Bearer ${apiKey}`, cookie: 'hf_aid=returning-visitor' },
        quiesce: () => app.audit.flush(),
      };
    },
  },
  // A client without a cookie jar is a new visitor on every request: each response mints hf_aid.
  {
    name: 'stack-new-visitor',
    setup: async () => {
      const app = await stack(true);
      return { app, quiesce: () => app.audit.flush() };
    },
  },
  // Calibration: bare Fastify again. Its distance from 1 is this run's noise.
  { name: 'bare-again', setup: async () => ({ app: bare() }) },
];
