// Issue 28 item 4: quotas on a primary found through Redis Sentinel (REDIS_SENTINELS,
// REDIS_SENTINEL_NAME): one primary, one replica and three redis-sentinel of the test's own. The
// primary is SIGKILLed while requests flow: limits keep answering (the insurance limiter
// meanwhile), the ban survives on the promoted replica, and the over-admission is measured.
import {
  freePort,
  redisServersAvailable,
  replicated,
  startSentinelRedis,
  testDatabase,
  type SentinelRedis,
  type TestDatabase,
  until,
} from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectFailoverHeld,
  expectShared,
  freshIp,
  LIMIT,
  quotaHealth,
  redisApp,
  runThroughFailover,
  threeApps,
} from './redis-failover.js';

describe.skipIf(!redisServersAvailable)('quotas on Redis through Sentinel', () => {
  let servers: SentinelRedis;
  let database: TestDatabase;
  // Two instances, and a third that sees no client before the failover (nothing cached).
  let a: FastifyInstance, b: FastifyInstance, c: FastifyInstance;

  beforeAll(async () => {
    [servers, database] = await Promise.all([startSentinelRedis(), testDatabase()]);
    [a, b, c] = (await threeApps(database, { REDIS_SENTINELS: servers.list, REDIS_SENTINEL_NAME: servers.name })).apps;
  });
  afterAll(async () => {
    await Promise.all([a, b, c].map((app) => app?.close()));
    await database?.close();
    await servers?.close();
  });

  it('starts from REDIS_SENTINELS and REDIS_SENTINEL_NAME: two instances share limits and bans; /health says quota up', async () => {
    expect(await quotaHealth(a)).toBe('up');
    await expectShared(a, b);
  });

  it('a SIGKILLed primary: limits keep answering (no 5xx), health says down then up, the ban survives the failover', async () => {
    const run = await runThroughFailover(a, b, {
      settled: () => replicated(servers.primary.port, servers.replica.port),
      kill: () => servers.primary.kill(),
    });
    await expectFailoverHeld(run, c, servers.replica.port);
    // Order of events: up before the kill, down during the failover, up after it.
    expect(run.health[0]).toBe('up');
    expect(run.health.indexOf('down')).toBeGreaterThan(0);
    expect(run.health.lastIndexOf('up')).toBeGreaterThan(run.health.indexOf('down'));
    expect(run.healthBackMs).toBeGreaterThan(0);
    // The sentinel asked may not be the one that ran the failover: it learns of it from the others'
    // hello messages, a second or two later on a loaded machine (a run read the old primary's port).
    await until(async () => (await servers.primaryPort()) === servers.replica.port, 120_000);
    console.info(
      `sentinel failover: quota shared again after ${run.sharedBackMs} ms, /health up after ${run.healthBackMs} ms; over-admitted per client (limit ${LIMIT}/min, ${run.rate} req/s per instance): ${run.overAdmitted.join(', ')}`,
    );
  }, 600_000); // a hang guard, not a measurement

  it('every sentinel unreachable at startup: the app starts anyway, /health says quota down, requests are answered', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`;
    // (Before, buildApp waited for ioredis' connect(), which never settles then: this test timed out.)
    const { app, logs } = await redisApp(database, { REDIS_SENTINELS: nowhere, REDIS_SENTINEL_NAME: servers.name });
    try {
      expect((await app.inject('/health')).json()).toMatchObject({ status: 'degraded', quota: 'down' });
      expect((await app.inject({ url: '/v1/ping', remoteAddress: freshIp() })).statusCode).toBe(200);
      expect(logs.text()).toContain('quota: Redis is not reachable at startup');
    } finally {
      await app.close();
    }
  });
});
