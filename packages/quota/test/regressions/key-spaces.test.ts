// Issue 19 item 2: accounts and clients are counted and banned in key spaces of their own. Before,
// an account's key was its bare id, and a client's (on a shared store without a secret) `ip:<addr>`:
// an account whose id is `ip:203.0.113.9` shared counters and bans with that address.
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import quota, { quotaMigrations } from '../../src/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [quotaMigrations] });
});
afterAll(() => db.close());

describe('key spaces', () => {
  it('an account banned for abuse does not ban the client whose address its id spells, nor the reverse', async () => {
    const app = Fastify();
    app.decorateRequest('principal', null);
    await app.register(quota, {
      store: 'postgres',
      db: db.db,
      plans: { free: { requestsPerMinute: 1, messagesPerDay: 5 } },
      anonymous: { requestsPerMinute: 1 },
      bans: { after: 2, windowSeconds: 600, durations: [600] },
    });
    app.addHook('onRequest', async (request) => {
      const id = request.headers['x-account'];
      if (typeof id === 'string') (request as unknown as { principal: unknown }).principal = { kind: 'account', id };
    });
    app.get('/x', async () => ({ ok: true }));
    await app.ready();
    const as = (headers: Record<string, string>, remoteAddress: string) =>
      app.inject({ url: '/x', headers, remoteAddress });

    // The account `ip:203.0.113.9`, from another address, uses its minute and is banned.
    const account = { 'x-account': 'ip:203.0.113.9' };
    expect((await as(account, '198.51.100.1')).statusCode).toBe(200);
    expect((await as(account, '198.51.100.1')).statusCode).toBe(429);
    expect((await as(account, '198.51.100.1')).statusCode).toBe(429);
    expect((await as(account, '198.51.100.1')).statusCode).toBe(403);
    // The client 203.0.113.9 is neither banned nor limited by it.
    const client = await as({}, '203.0.113.9');
    expect(client.statusCode).toBe(200);
    expect(client.headers.ratelimit).toMatch(/^"anonymous\.minute";r=0;/);

    // The reverse: a client banned by the operator leaves the account of that name alone.
    await app.quota.ban('ip:198.51.100.2', 600, 'test');
    expect((await as({}, '198.51.100.2')).statusCode).toBe(403);
    expect((await as({ 'x-account': 'ip:198.51.100.2' }, '198.51.100.3')).statusCode).toBe(200);
    await app.close();
  });
});
