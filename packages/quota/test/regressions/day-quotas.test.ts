// Issue 13 items 11 to 13: five refusals at the day's message cap banned the whole account (then
// 15 min, 1 h, 24 h), read-only routes included; the day's window started at the first message (a
// rolling 24 h) while usage counted by UTC day; and the RateLimit fields of a messages route named
// only the messages policy even when the per-minute limit was nearer exhaustion.
import { testDatabase, testRedis, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import quota, { quotaMigrations, type QuotaOptions } from '../../src/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [quotaMigrations] });
});
afterAll(() => db.close());
beforeEach(() => db.truncate('quota'));

async function app(options: Partial<QuotaOptions> = {}) {
  const instance = Fastify();
  instance.decorateRequest('principal', null);
  instance.decorateRequest('account', null);
  await instance.register(quota, {
    plans: { free: { requestsPerMinute: 4, messagesPerDay: 3 } },
    bans: { after: 2, windowSeconds: 600 },
    ...options,
  });
  instance.addHook('onRequest', async (request) => {
    const id = request.headers['x-account'];
    if (typeof id === 'string')
      (request as unknown as { principal: unknown; account: unknown }).principal = { kind: 'account', id };
    if (typeof id === 'string') (request as unknown as { account: unknown }).account = { id, plan: 'free' };
  });
  instance.get('/read', async () => ({ ok: true }));
  instance.post('/messages', { config: { quota: { messages: 1 } } }, async () => ({ sent: true }));
  await instance.ready();
  onTestFinished(() => instance.close());
  return instance;
}

const as = (account: string) => ({ 'x-account': account });

describe('a plan quota used up is not abuse', () => {
  it('20 refusals at the message cap ban nothing: reads still 200', async () => {
    const instance = await app({ plans: { free: { requestsPerMinute: 1000, messagesPerDay: 3 } } });
    for (let i = 0; i < 3; i++)
      expect((await instance.inject({ method: 'POST', url: '/messages', headers: as('acct-cap') })).statusCode).toBe(
        200,
      );
    for (let i = 0; i < 20; i++)
      expect((await instance.inject({ method: 'POST', url: '/messages', headers: as('acct-cap') })).statusCode).toBe(
        429,
      );
    expect((await instance.inject({ url: '/read', headers: as('acct-cap') })).statusCode).toBe(200);
  });

  it('refusals of a per-minute limit still ban', async () => {
    const instance = await app();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await instance.inject({ url: '/read', headers: as('acct-flood') })).statusCode);
    expect(statuses).toContain(403);
  });
});

describe('day quotas are calendar windows in UTC', () => {
  it('memory store, fake timers: refused at 23:59 with Retry-After to midnight, allowed again after it', async () => {
    vi.useFakeTimers({ now: new Date('2026-12-01T23:58:30Z'), toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const instance = await app({ plans: { free: { requestsPerMinute: 1000, messagesPerDay: 3 } } });
    for (let i = 0; i < 3; i++) await instance.inject({ method: 'POST', url: '/messages', headers: as('acct-m') });
    const refused = await instance.inject({ method: 'POST', url: '/messages', headers: as('acct-m') });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBe(90);
    expect(
      (await instance.quota.status('acct-m', 'free')).limits.find((l) => l.name === 'free.messages'),
    ).toMatchObject({ used: 3, resetAt: new Date('2026-12-02T00:00:00Z') });
    vi.setSystemTime(new Date('2026-12-02T00:00:01Z'));
    expect((await instance.inject({ method: 'POST', url: '/messages', headers: as('acct-m') })).statusCode).toBe(200);
    expect((await instance.quota.status('acct-m', 'free')).limits.find((l) => l.name === 'free.messages')!.used).toBe(
      1,
    );
  });

  async function acrossMidnight(options: Partial<QuotaOptions>) {
    let clock = Date.parse('2026-12-01T23:59:00Z');
    const instance = await app({
      plans: { free: { requestsPerMinute: 1000, messagesPerDay: 3 } },
      now: () => clock,
      ...options,
    });
    const account = `acct-${Math.random().toString(36).slice(2)}`;
    for (let i = 0; i < 3; i++)
      expect((await instance.inject({ method: 'POST', url: '/messages', headers: as(account) })).statusCode).toBe(200);
    const refused = await instance.inject({ method: 'POST', url: '/messages', headers: as(account) });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBe(60);
    clock = Date.parse('2026-12-02T00:00:00Z');
    expect((await instance.inject({ method: 'POST', url: '/messages', headers: as(account) })).statusCode).toBe(200);
    expect((await instance.quota.status(account, 'free')).limits.find((l) => l.name === 'free.messages')!.used).toBe(1);
  }

  it('Postgres store, injected clock', () => acrossMidnight({ store: 'postgres', db: db.db }));

  it('Redis store, injected clock', async (context) => {
    const redis = await testRedis();
    if (!redis) return context.skip();
    const client = new Redis(redis.client.options);
    onTestFinished(async () => {
      client.disconnect();
      await redis.close();
    });
    await acrossMidnight({ store: 'redis', redis: client, keyPrefix: redis.prefix });
  });
});

describe('RateLimit fields', () => {
  it('list every policy of the route and name the one nearest exhaustion', async () => {
    const instance = await app({ plans: { free: { requestsPerMinute: 4, messagesPerDay: 100 } } });
    const first = await instance.inject({ method: 'POST', url: '/messages', headers: as('acct-f') });
    expect(first.headers['ratelimit-policy']).toBe('"free.minute";q=4;w=60, "free.messages";q=100;w=86400');
    expect(first.headers.ratelimit).toMatch(/^"free\.minute";r=3;t=\d+$/); // 3 of 4 left beats 99 of 100
  });

  it('refuse a limit name that is not a policy token when the route is declared', async () => {
    const instance = Fastify();
    await instance.register(quota, {});
    await instance.after();
    expect(() =>
      instance.get(
        '/bad',
        { config: { quota: { limits: [{ name: 'Bad Name', points: 1, duration: 1 }] } } },
        async () => ({}),
      ),
    ).toThrow(expect.objectContaining({ code: 'HF_QUOTA_INVALID_OPTION' }));
    await instance.close();
  });
});
