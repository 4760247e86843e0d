// Issue 28 item 6 (the Redis half): after a Redis outage the quota store comes back by itself,
// promptly, and /health says so. The outage is a TCP proxy of the test's own in front of the
// machine's Redis, cut then restored; instance a goes through it, instance b straight to Redis.
import { redisUrl, tcpProxy, testDatabase, until, type TcpProxy, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../src/wiring/redis.js';
import { testApp } from './helpers.js';
import { freshIp, redisFromEnv, synced } from './redis-failover.js';

describe.skipIf(!redisUrl)('the quota store through a Redis outage', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let a: FastifyInstance, b: FastifyInstance;

  beforeAll(async () => {
    const target = new URL(redisUrl!);
    [database, proxy] = await Promise.all([
      testDatabase(),
      tcpProxy({ host: target.hostname, port: Number(target.port || 6379) }),
    ]);
    const limits = { quotaAnonRpm: 10 };
    [a, b] = (
      await Promise.all([
        testApp(database, { redisUrl: proxy.through(redisUrl!), ...limits }),
        testApp(database, { redisUrl, ...limits }),
      ])
    ).map((m) => m.app) as [FastifyInstance, FastifyInstance];
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await proxy?.close();
    await database?.close();
  });

  /** What the RateLimit field says is left for the client. */
  const left = async (app: FastifyInstance, ip: string) => {
    const response = await app.inject({ url: '/v1/ping', remoteAddress: ip });
    expect(response.statusCode).toBe(200);
    return Number(/;r=(\d+)/.exec(String(response.headers.ratelimit))![1]);
  };
  const health = async (app: FastifyInstance) => {
    const response = await app.inject('/health');
    return { code: response.statusCode, ...(response.json() as { status: string; quota: string }) };
  };

  it('cut: the insurance limiter answers and /health says quota down; restored: up at the first probe, limits shared again', async () => {
    const ip = freshIp();
    // Shared: a's request and b's are one count (each written, and read again by the other).
    expect(await left(a, ip)).toBe(9);
    expect(await synced(a)).toBe(true);
    expect(await left(b, ip)).toBe(8);
    expect(await synced(b)).toBe(true);
    expect(await health(a)).toMatchObject({ code: 200, status: 'ok', quota: 'up' });

    const refusedBefore = proxy.refused;
    proxy.cut();
    // Answered by a's insurance limiter (its own count from 10), never an error; /health says so,
    // and stays 200 (the database answers: the replica can serve).
    expect(await left(a, ip)).toBe(9);
    expect(await health(a)).toMatchObject({ code: 200, status: 'degraded', database: 'up', quota: 'down' });
    // The outage lasts until a's client has failed to reconnect 10 times (its delay at the cap by then).
    await until(async () => {
      expect(await health(a)).toMatchObject({ code: 200, status: 'degraded', quota: 'down' });
      return proxy.refused - refusedBefore >= 10;
    });
    expect(await left(a, ip)).toBe(8);
    expect(await health(b)).toMatchObject({ status: 'ok', quota: 'up' });

    await proxy.restore();
    const restored = Date.now();
    // The first probe after Redis accepts connections again says up...
    expect(await health(a)).toMatchObject({ code: 200, status: 'ok', quota: 'up' });
    const recoveredMs = Date.now() - restored;
    // ...and a counts in Redis again (once its probe has found it): after b's 1 and a's 1 before the
    // cut, a's is the 3rd, b's the 4th; what a's insurance limiter admitted is not added.
    await until(() => synced(a));
    expect(await left(a, ip)).toBe(7);
    expect(await synced(a)).toBe(true);
    expect(await left(b, ip)).toBe(6);
    console.info(`Redis outage: /health said quota up ${recoveredMs} ms after the proxy was restored (first probe)`);
  });

  it('a command in flight when the connection drops is not sent again after the reconnection (the insurance limiter answered it)', async () => {
    const redis = (await createRedis(redisFromEnv({ REDIS_URL: proxy.through(redisUrl!) })))!;
    const direct = new Redis(redisUrl!, { lazyConnect: true });
    const key = `hf-test:${process.pid}:in-flight:${freshIp()}`;
    redis.on('error', () => {});
    await Promise.all([redis.connect(), direct.connect()]);
    try {
      // Written to the socket, then the connection is cut before the proxy forwards it (one process:
      // the cut runs before any I/O callback).
      void redis.incr(key).catch(() => undefined);
      proxy.cut();
      await until(() => redis.status !== 'ready');
      await proxy.restore();
      await until(() => redis.status === 'ready');
      expect(await redis.ping()).toBe('PONG');
      expect(await direct.get(key)).toBeNull();
    } finally {
      redis.disconnect();
      await direct.del(key);
      direct.disconnect();
    }
  });
});
