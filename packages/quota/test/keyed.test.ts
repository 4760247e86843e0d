// Issue 32: limits per a key of the route's own (an address in a body) and `take` outside any
// request (a sender's answers a day), exact and shared through the store, the key kept only as an
// HMAC: the store never holds the address.
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import quota, { quotaMigrations } from '../src/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [quotaMigrations] });
});
afterAll(() => db.close());

const SECRET = 'keyed-test-secret-0123456789abcdef';

async function app(
  store: 'memory' | 'postgres',
  keyPrefix = `keyed-${store}-${Date.now()}:`,
): Promise<FastifyInstance> {
  const server = Fastify();
  await server.register(quota, {
    store,
    db: db.db,
    anonymous: { requestsPerMinute: 1000 },
    clientKeys: { secret: SECRET },
    keyPrefix,
  });
  server.post(
    '/ask',
    {
      config: {
        quota: {
          failClosed: true,
          limits: [{ name: 'ask.ip', points: 5, duration: 3600 }],
          keyed: {
            limits: [{ name: 'ask.address', points: 2, duration: 3600 }],
            key: (request) => (request.body as { email?: string } | null)?.email?.toLowerCase(),
          },
        },
      },
    },
    async () => ({ ok: true }),
  );
  await server.ready();
  return server;
}

describe('keyed route limits', () => {
  for (const store of ['memory', 'postgres'] as const) {
    it(`count each address apart from the client's own limit, on ${store}`, async () => {
      const server = await app(store);
      const ask = (email: string, remoteAddress = '203.0.113.1') =>
        server.inject({ method: 'POST', url: '/ask', payload: { email }, remoteAddress });
      expect((await ask('Amina@example.org')).statusCode).toBe(200);
      expect((await ask('amina@example.org', '198.51.100.7')).statusCode).toBe(200);
      const refused = await ask('amina@example.org', '198.51.100.8');
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'HF_QUOTA_EXCEEDED' });
      expect(refused.headers['retry-after']).toBeDefined();
      // Another address from the first client still goes, until that client's own limit (5 an hour).
      for (const n of [1, 2, 3, 4]) expect((await ask(`other${n}@example.org`)).statusCode).toBe(200);
      expect((await ask('other5@example.org')).statusCode).toBe(429);
      // A body without the key is not counted by it.
      expect(
        (await server.inject({ method: 'POST', url: '/ask', payload: {}, remoteAddress: '192.0.2.1' })).statusCode,
      ).toBe(200);
      if (store === 'postgres') {
        const keys = resultRows<{ key: string }>(await db.db.execute(sql`select key from quota.rate_limits`)).map(
          (r) => r.key,
        );
        expect(keys.some((k) => k.includes('ask.address:nk:'))).toBe(true);
        expect(keys.join(' ')).not.toMatch(/amina|example\.org|203\.0\.113/i);
      }
      await server.close();
    });
  }

  it('refuse a keyed limit named against the policy-name rules at declaration', async () => {
    const server = Fastify();
    await server.register(quota, { store: 'memory' });
    expect(() =>
      server.post(
        '/x',
        { config: { quota: { keyed: { limits: [{ name: 'Bad Name', points: 1, duration: 60 }], key: () => 'k' } } } },
        async () => ({}),
      ),
    ).toThrow(/HF_QUOTA_INVALID_OPTION|keyed/);
    await server.close();
  });
});

describe('take', () => {
  it('counts a key outside any request, exactly across two instances sharing the store, never naming it', async () => {
    const prefix = `take-${Date.now()}:`;
    const one = await app('postgres', prefix);
    const two = await app('postgres', prefix);
    const limit = { name: 'answers.sender', points: 3, duration: 86_400 };
    const key = `sender:${Date.now()}@example.org`;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? one : two).quota.take(limit, key)));
    expect(answers.filter((a) => a.allowed)).toHaveLength(3);
    expect(answers.find((a) => !a.allowed)!.resetMs).toBeGreaterThan(0);
    const keys = resultRows<{ key: string }>(
      await db.db.execute(sql`select key from quota.rate_limits where key like ${'%answers.sender%'}`),
    ).map((r) => r.key);
    expect(keys.join(' ')).not.toContain('example.org');
    await expect(one.quota.take({ name: 'Not A Name', points: 1, duration: 60 }, key)).rejects.toMatchObject({
      code: 'HF_QUOTA_INVALID_OPTION',
    });
    await one.close();
    await two.close();
  });
});
