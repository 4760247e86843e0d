// Issue 35 item 3: the client-key secret rolls. While `clientKeys.previous` names the old secret, a
// replica on the new one reads and writes bans under both keys of a client, so old and new replicas
// honour each other's bans; without it, the old ban is not seen (what the test guards against).
import { createDatabase } from '@harakaflow/db';
import { postgresUrl, redisUrl, testDatabase, testRedis, type TestDatabase } from '@harakaflow/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import quota, { quotaMigrations, type QuotaOptions } from '@harakaflow/quota';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [quotaMigrations] });
});
afterAll(() => db.close());

const oldSecret = 'the old quota client-key secret';
const newSecret = 'the new quota client-key secret';
const ipOf = () => `198.18.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

async function replica(store: Partial<QuotaOptions>, clientKeys: QuotaOptions['clientKeys']) {
  const app = Fastify();
  app.decorateRequest('principal', null);
  await app.register(quota, {
    ...store,
    anonymous: { requestsPerMinute: 3 },
    bans: { after: 3, windowSeconds: 600, durations: [60] },
    storeTimeoutMs: 5000,
    banCheckIntervalMs: 1,
    clientKeys,
  });
  app.get('/x', async () => ({ ok: true }));
  await app.ready();
  onTestFinished(() => app.close());
  return app;
}

const status = async (app: FastifyInstance, ip: string) =>
  (await app.inject({ url: '/x', remoteAddress: ip })).statusCode;

/** Bans `ip` on `app` by its own refusals (3 admitted, 3 refused). */
async function abuse(app: FastifyInstance, ip: string) {
  for (let i = 0; i < 6; i++) await status(app, ip);
  expect(await status(app, ip)).toBe(403);
}

async function rolling(store: Partial<QuotaOptions>) {
  const old = await replica(store, { secret: oldSecret });
  const next = await replica(store, { secret: newSecret, previous: [oldSecret] });
  const newOnly = await replica(store, { secret: newSecret });

  const a = ipOf();
  await abuse(old, a); // banned under the old secret's key only
  expect(await status(next, a)).toBe(403);
  expect(await status(newOnly, a)).toBe(200); // why `previous` exists

  const b = ipOf();
  await abuse(next, b); // banned under both secrets' keys
  expect(await status(old, b)).toBe(403);
  expect(await status(newOnly, b)).toBe(403);

  // An operator's ban and unban reach every form.
  const c = ipOf();
  await next.quota.ban(`ip:${c}`, 60, 'test');
  expect(await status(old, c)).toBe(403);
  await next.quota.unban(`ip:${c}`);
  await old.quota.unban(`ip:${c}`); // the old replica's cache of the ban goes too
  expect(await status(old, c)).toBe(200);
}

describe('clientKeys.previous: a rolling change of the client-key secret', () => {
  it.skipIf(!redisUrl)('on Redis: bans honoured both ways, and not without previous', async () => {
    const redis = (await testRedis())!;
    onTestFinished(() => redis.close());
    await rolling({ store: 'redis', redis: redis.client, keyPrefix: redis.prefix });
  });

  it.skipIf(!postgresUrl)('on Postgres: the same in quota.rate_limits', async () => {
    const pool = await createDatabase({ url: db.url, max: 4 });
    onTestFinished(() => pool.close());
    await db.truncate('quota');
    await rolling({ store: 'postgres', db: pool.db });
  });

  it('refuses a previous secret shorter than 16 bytes', async () => {
    for (const bad of [['short'], [new Uint8Array(8)], [42 as never], 'not a list' as never]) {
      const app = Fastify();
      await expect(
        app.register(quota, { clientKeys: { secret: newSecret, previous: bad } }).ready(),
      ).rejects.toMatchObject({
        code: 'HF_QUOTA_INVALID_OPTION',
        message: expect.stringContaining('"clientKeys.previous'),
      });
      await app.close();
    }
  });
});
