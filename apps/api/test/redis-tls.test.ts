// Issue 28 item 4: quotas on a TLS-only Redis (`rediss://`) whose certificate a private CA signed
// (REDIS_TLS_CA_FILE): a redis-server with --tls-port and a CA and certificate made by this test.
import {
  redisServersAvailable,
  startTlsRedis,
  testDatabase,
  type TestDatabase,
  type TlsRedis,
} from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCaProblem } from '../src/wiring/redis.js';
import { expectShared, freshIp, quotaHealth, redisApp } from './redis-failover.js';

describe.skipIf(!redisServersAvailable)('quotas on Redis over TLS with a private CA', () => {
  let server: TlsRedis;
  let database: TestDatabase;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    [server, database] = await Promise.all([startTlsRedis(), testDatabase()]);
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await database?.close();
    await server?.close();
  });

  it('starts from REDIS_URL=rediss://... and REDIS_TLS_CA_FILE: two instances share limits and bans; /health says quota up', async () => {
    expect(redisCaProblem(server.caFile)).toBeNull();
    const env = { REDIS_URL: server.url, REDIS_TLS_CA_FILE: server.caFile };
    const [a, b] = (await Promise.all([redisApp(database, env), redisApp(database, env)])).map((m) => m.app) as [
      FastifyInstance,
      FastifyInstance,
    ];
    apps.push(a, b);
    expect(await quotaHealth(a)).toBe('up');
    await expectShared(a, b);
  });

  it('without the private CA the certificate is not trusted: quota down, said at startup with the TLS error, limits per instance', async () => {
    const { app, logs } = await redisApp(database, { REDIS_URL: server.url });
    apps.push(app);
    const health = await app.inject('/health');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'degraded', database: 'up', quota: 'down' });
    expect((await app.inject({ url: '/v1/ping', remoteAddress: freshIp() })).statusCode).toBe(200);
    const warning = logs.lines().find((l) => String(l.msg).startsWith('quota: Redis is not reachable at startup'));
    expect((warning?.err as { codes: string[] }).codes.join()).toMatch(/CERT|SIGNATURE|ISSUER/);
  });
});
