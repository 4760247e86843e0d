/** The benchmark's peers: what a user would pick instead of each plugin, and of the whole stack. */
import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The ping route's response schema, the reference app's: every variant serializes the same way. */
export const pingSchema = { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } as const;

/** The consent secret of the consent variant, the stack, and the peers' signed cookie. */
export const CONSENT_SECRET = 'bench-consent-secret-0123456789abcdef0123';

/** A connected ioredis client on REDIS_URL (the Redis variants and their peer). */
export async function redisClient() {
  const { Redis } = await import('ioredis');
  const client = new Redis(process.env.REDIS_URL!, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client;
}

/** Peer: Fastify's own request logging, through pino, to a file (what the audit log is compared with). */
export async function peerPinoLog() {
  const file = join(mkdtempSync(join(tmpdir(), 'hf-bench-pino-')), 'requests.log');
  const app = Fastify({ logger: { level: 'info', file } });
  app.get('/v1/ping', { schema: pingSchema }, async () => ({ ok: true }));
  return { app };
}

/** Peer: @fastify/rate-limit, in memory or on Redis, an anonymous client under its limit. */
export async function peerRateLimit(store: 'memory' | 'redis') {
  const { default: rateLimit } = await import('@fastify/rate-limit');
  const app = Fastify({ logger: false });
  const redis = store === 'redis' ? await redisClient() : undefined;
  await app.register(rateLimit, {
    max: 100_000_000,
    timeWindow: 60_000,
    ...(redis ? { redis, nameSpace: `hf-bench-peer-${process.pid}-` } : {}),
  });
  app.get('/v1/ping', { schema: pingSchema }, async () => ({ ok: true }));
  return { app, close: async () => redis?.disconnect() };
}

/**
 * The peers' signed preference cookie: an onRequest hook that unsigns it on every request (a
 * request without a valid one fails), the ping route, and the header of a client holding one.
 * The app must have @fastify/cookie registered with CONSENT_SECRET.
 */
function signedCookiePing(app: FastifyInstance): Record<string, string> {
  app.addHook('onRequest', (request, _reply, done) => {
    const raw = request.cookies.pref;
    if (raw === undefined || !request.unsignCookie(raw).valid)
      return done(new Error('bench: the signed cookie did not verify'));
    done();
  });
  app.get('/v1/ping', { schema: pingSchema }, async () => ({ ok: true }));
  return { cookie: `pref=${encodeURIComponent(app.signCookie('1~analytics=false~v1~benchbenchbenchbench00'))}` };
}

/** Peer: @fastify/cookie unsigning a signed cookie on every request (what consent's signed cookie is compared with). */
export async function peerCookieSigned() {
  const { default: cookie } = await import('@fastify/cookie');
  const app = Fastify({ logger: false });
  await app.register(cookie, { secret: CONSENT_SECRET });
  const headers = signedCookiePing(app);
  return { app, headers };
}

/**
 * Peer of `stack-redis`: what a team assembles instead of the kit, from the libraries the kit is
 * compared with one by one. @fastify/helmet with its defaults (security headers; it builds helmet's
 * middleware on every request, which the app avoids by computing the headers once), @fastify/cookie
 * unsigning a signed preference cookie, @fastify/rate-limit on Redis (an anonymous client under its
 * limit, one round trip a request) and Fastify's pino request logging to a file (two lines a
 * request: incoming request and request completed). Like the stack's returning visitor, the client
 * holds a valid cookie, so the response sets none.
 */
export async function peerStack() {
  const { default: helmet } = await import('@fastify/helmet');
  const { default: cookie } = await import('@fastify/cookie');
  const { default: rateLimit } = await import('@fastify/rate-limit');
  const file = join(mkdtempSync(join(tmpdir(), 'hf-bench-peer-stack-')), 'requests.log');
  const app = Fastify({ logger: { level: 'info', file } });
  const redis = await redisClient();
  await app.register(helmet);
  await app.register(cookie, { secret: CONSENT_SECRET });
  await app.register(rateLimit, {
    max: 100_000_000,
    timeWindow: 60_000,
    redis,
    nameSpace: `hf-bench-peer-stack-${process.pid}-`,
  });
  const headers = signedCookiePing(app);
  return { app, headers, close: async () => redis.disconnect() };
}
