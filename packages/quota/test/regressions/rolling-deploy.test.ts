// Issue 29 item 3: the store changed (counters written behind, own Redis scripts and Postgres
// statements instead of rate-limiter-flexible), the keys did not. During a rolling deploy a replica
// of the previous version (rate-limiter-flexible on the same keys, as it ran before) and a new one
// count the same clients: each sees the other's requests, bans and messages. Before this test the
// claim was only in the README.
import { createDatabase } from '@harakaflow/db';
import { postgresUrl, redisUrl, testDatabase, testRedis, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { RateLimiterDrizzle, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import quota, { quotaMigrations, type QuotaOptions } from '../../src/index.js';
import { rateLimits as quotaRateLimits } from '../../src/schema.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [quotaMigrations] });
});
afterAll(() => db.close());

/** The previous version's limiter of a limit, as its GuardedLimiter built it. */
type OldLimiter = (name: string, points: number, duration: number) => RateLimiterAbstract;

async function sideBySide(options: Partial<QuotaOptions>, old: OldLimiter) {
  const app = Fastify();
  app.decorateRequest('principal', null);
  await app.register(quota, {
    ...options,
    plans: { free: { requestsPerMinute: 1000, messagesPerDay: 3 } },
    anonymous: { requestsPerMinute: 10 },
    bans: { after: 1000, windowSeconds: 600 },
    storeTimeoutMs: 2000,
  });
  app.addHook('onRequest', async (request) => {
    const id = request.headers['x-account'];
    if (typeof id === 'string') (request as unknown as { principal: unknown }).principal = { kind: 'account', id };
  });
  app.get('/x', async () => ({ ok: true }));
  app.post('/messages', { config: { quota: { messages: 1, failClosed: true } } }, async () => ({ sent: true }));
  await app.ready();
  onTestFinished(() => app.close());
  const n = () => Math.floor(Math.random() * 250);
  const left = async (ip: string) =>
    Number(/;r=(\d+)/.exec(String((await app.inject({ url: '/x', remoteAddress: ip })).headers.ratelimit))![1]);

  // Requests: the old replica's four, then the new one's, counted together both ways.
  const a = `198.18.${n()}.${1 + n()}`;
  const oldMinute = old('anonymous.minute', 10, 60);
  for (let i = 0; i < 4; i++) await oldMinute.consume(`ip:${a}`, 1);
  expect(await left(a)).toBe(5);
  expect(await left(a)).toBe(4);
  await app.quota.sync();
  expect((await oldMinute.get(`ip:${a}`))!.consumedPoints).toBe(6);

  // Bans: one the old replica made is refused here; one made here is one the old replica reads.
  const oldBans = old('bans', 1, 1);
  const b = `198.18.${n()}.${1 + n()}`;
  await oldBans.block(`ip:${b}`, 60);
  expect((await app.inject({ url: '/x', remoteAddress: b })).statusCode).toBe(403);
  const c = `198.18.${n()}.${1 + n()}`;
  await app.quota.ban(`ip:${c}`, 60, 'test');
  const seen = await oldBans.get(`ip:${c}`);
  expect(seen!.consumedPoints).toBeGreaterThan(1); // the old book's test for "banned"
  expect(seen!.msBeforeNext).toBeGreaterThan(59_000);

  // Messages per day: two sent through the old replica, one left here.
  const account = `acct-${n()}-${n()}`;
  const day = new Date().toISOString().slice(0, 10);
  const oldMessages = old('free.messages', 3, 86_400);
  for (let i = 0; i < 2; i++) await oldMessages.consume(`acct:${account}|${day}`, 1);
  const send = () =>
    app.inject({ method: 'POST', url: '/messages', headers: { 'x-account': account } }).then((r) => r.statusCode);
  expect([await send(), await send()]).toEqual([200, 429]);
  expect((await oldMessages.get(`acct:${account}|${day}`))!.consumedPoints).toBe(3);
}

describe('a replica of the previous version beside a new one', () => {
  it.skipIf(!redisUrl)('on Redis: counts, bans and messages shared both ways', async () => {
    const redis = (await testRedis())!;
    onTestFinished(() => redis.close());
    await sideBySide(
      { store: 'redis', redis: redis.client, keyPrefix: redis.prefix },
      (name, points, duration) =>
        new RateLimiterRedis({
          storeClient: redis.client,
          keyPrefix: `${redis.prefix}${name}`,
          points,
          duration,
          rejectIfRedisNotReady: true,
        }),
    );
  });

  it.skipIf(!postgresUrl)('on Postgres: the same in quota.rate_limits', async () => {
    const pool = await createDatabase({ url: db.url, max: 4 });
    onTestFinished(() => pool.close());
    await sideBySide(
      { store: 'postgres', db: pool.db },
      (name, points, duration) =>
        new RateLimiterDrizzle({
          storeClient: pool.db,
          schema: quotaRateLimits,
          keyPrefix: `hf:quota:${name}`,
          points,
          duration,
          clearExpiredByTimeout: false,
        }),
    );
  });
});
