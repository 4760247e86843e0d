// Issue 18 item 5: every authenticated request read its client's failed-authentication count from
// the store (a MULTI GET PTTL EXEC on Redis), though almost every client has none: with the API key
// resolved from the auth cache, that read was the authenticated path's one extra round trip. A
// client with no failure known is now trusted from memory for banCheckIntervalMs; a failure makes
// each replica read the shared count again, so guessing across two replicas stays bounded.
import { testRedis } from '@harakaflow/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import quota, { type QuotaOptions } from '../../src/index.js';

const plans = { free: { requestsPerMinute: 10_000, messagesPerDay: 3 } };

/** An app as the reference app wires the gate: checked before a key is looked up, failures counted after. */
async function instance(options: Partial<QuotaOptions>): Promise<FastifyInstance> {
  const app = Fastify();
  app.decorateRequest('principal', null);
  await app.register(quota, {
    plans,
    anonymous: { requestsPerMinute: 10_000 },
    authFailures: { perMinute: 5 },
    bans: { after: 100, windowSeconds: 600, durations: [60] },
    banCheckIntervalMs: 60_000,
    ...options,
  });
  app.addHook('onRequest', async (request, reply) => {
    if (await app.quota.authGate(request, reply)) return reply;
    if (request.headers.authorization !== 'Bearer good') {
      await app.quota.authFailed(request);
      return reply.code(401).send({ code: 'HF_AUTH_INVALID' });
    }
  });
  // No route limits here: what is counted is the gate's store calls (and the IP ban check's).
  app.get('/v1/me', { config: { quota: false } }, async () => ({ ok: true }));
  await app.ready();
  return app;
}

const call = (app: FastifyInstance, key: string, remoteAddress = '203.0.113.9') =>
  app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${key}` }, remoteAddress });

describe('the authentication gate', () => {
  it('costs an authenticated client with no failures one store read per banCheckIntervalMs, not one per request', async () => {
    const app = await instance({});
    onTestFinished(() => app.close());
    expect((await call(app, 'good')).statusCode).toBe(200);
    const before = app.quota.storeCalls();
    for (let i = 0; i < 50; i++) expect((await call(app, 'good')).statusCode).toBe(200);
    expect(app.quota.storeCalls() - before).toBe(0);
  });

  it('still stops guessing on one replica at the limit exactly, and a failure is seen at once', async () => {
    const app = await instance({});
    onTestFinished(() => app.close());
    expect((await call(app, 'good')).statusCode).toBe(200); // a clean read, trusted for a minute
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(app, `guess-${i}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // The limit is on the client, not the key: a good key from it is refused too until the window passes.
    expect((await call(app, 'good')).statusCode).toBe(429);
  });

  it('bounds guessing across two replicas sharing Redis: at most one guess more per replica', async (context) => {
    const redis = await testRedis();
    if (!redis) return context.skip();
    onTestFinished(() => redis.close());
    // The connected client itself: a lazy one is not ready, and the store would fall back to memory.
    // The store's timeout raised from 50 ms: on two cores shared with a second suite a Redis read
    // outlasted it, and the insurance limiter (which has no shared count) let a good key through.
    const shared = {
      store: 'redis' as const,
      redis: redis.client,
      keyPrefix: redis.prefix,
      clientKeys: { secret: 'a-shared-client-key-secret-0123456789' },
      storeTimeoutMs: 2000,
    };
    const [a, b] = [await instance(shared), await instance(shared)];
    onTestFinished(async () => {
      await a.close();
      await b.close();
    });
    // Both replicas have seen the client clean (and trust that for a minute).
    expect((await call(a, 'good')).statusCode).toBe(200);
    expect((await call(b, 'good')).statusCode).toBe(200);
    let reachedLookup = 0;
    for (let i = 0; i < 40; i++) if ((await call(i % 2 ? b : a, `guess-${i}`)).statusCode === 401) reachedLookup++;
    expect(reachedLookup).toBeGreaterThanOrEqual(5);
    expect(reachedLookup).toBeLessThanOrEqual(5 + 2);
    expect((await call(a, 'good')).statusCode).toBe(429);
    expect((await call(b, 'good')).statusCode).toBe(429);
  });
});
