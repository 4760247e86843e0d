// Issue 28 item 4: quotas on a Redis Cluster (REDIS_CLUSTER_NODES) of the test's own, three
// primaries with one replica each. Every command the quota and the webhooks' replay store send
// touches one key, so none is refused with CROSSSLOT; the primary serving the test's clients is
// SIGKILLed while requests flow: limits keep answering, the ban survives, over-admission is measured.
import { redisReplayStore } from '@harakaflow/webhooks';
import {
  redisCli,
  redisServersAvailable,
  replicated,
  startClusterRedis,
  testDatabase,
  until,
  type CapturedLogs,
  type ClusterRedis,
  type Shard,
  type TestDatabase,
} from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, signup } from './helpers.js';
import {
  expectFailoverHeld,
  expectShared,
  freshIp,
  LIMIT,
  quotaHealth,
  runThroughFailover,
  threeApps,
} from './redis-failover.js';

describe.skipIf(!redisServersAvailable)('quotas on a Redis Cluster', () => {
  let servers: ClusterRedis;
  let database: TestDatabase;
  // Two instances, and a third that sees no client before the failover (nothing cached).
  let a: FastifyInstance, b: FastifyInstance, c: FastifyInstance;
  let logs: CapturedLogs;

  beforeAll(async () => {
    [servers, database] = await Promise.all([startClusterRedis(), testDatabase()]);
    ({
      apps: [a, b, c],
      logs,
    } = await threeApps(database, { REDIS_CLUSTER_NODES: servers.list }, { quotaFreeMessagesPerDay: 2 }));
  });
  afterAll(async () => {
    await Promise.all([a, b, c].map((app) => app?.close()));
    await database?.close();
    await servers?.close();
  });

  it('starts from REDIS_CLUSTER_NODES: two instances share limits and bans; /health says quota up', async () => {
    expect(await quotaHealth(a)).toBe('up');
    await expectShared(a, b);
  });

  it('runs every quota command on the cluster: none refused for its slots (CROSSSLOT) or failed; erasure reaches every shard', async () => {
    const before = a.quota.storeCalls();
    // Account limits and the message quota, the failed-authentication gate, usage, bans, unban and erasure.
    const ip = freshIp();
    const { account, apiKey } = await signup(a, {}, ip);
    const headers = { authorization: `Bearer ${apiKey}` };
    const send = () =>
      a.inject({
        method: 'POST',
        url: '/v1/messages',
        headers,
        payload: { sessionId: 's1', to: '+254700000002', text: 'hi' },
        remoteAddress: ip,
      });
    expect([(await send()).statusCode, (await send()).statusCode, (await send()).statusCode]).toEqual([202, 202, 429]);
    expect((await a.inject({ url: '/v1/usage', headers, remoteAddress: ip })).json()).toMatchObject({
      messages: { perDay: { used: 2 } },
    });
    expect(
      (await a.inject({ url: '/v1/usage', headers: { authorization: 'Bearer hf_live_wrong' }, remoteAddress: ip }))
        .statusCode,
    ).toBe(401);
    await a.quota.ban(`ip:${ip}`, 60, 'test');
    expect((await a.inject({ url: '/v1/usage', headers, remoteAddress: ip })).statusCode).toBe(403);
    await a.quota.unban(`ip:${ip}`);
    await a.quota.ban(account.id, 60, 'test');
    const onShards = async () =>
      (
        await Promise.all(
          servers.nodes.map((n) => redisCli(n.port, ['--scan', '--pattern', `*${account.id}*`]).catch(() => '')),
        )
      )
        .join('')
        .trim();
    expect(await onShards()).not.toBe('');
    const filed = await a.inject({
      method: 'POST',
      url: '/v1/admin/privacy/requests',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { kind: 'deletion', accountId: account.id, verification: 'letter' },
    });
    expect(filed.statusCode).toBeLessThan(300);
    await until(async () => (await onShards()) === '');
    expect(a.quota.storeCalls() - before).toBeGreaterThan(10);
    // No node refused a command for its keys' slots, and the insurance limiter answered only calls
    // that were slow (a loaded machine), never one that failed.
    for (const n of servers.nodes) expect(await redisCli(n.port, ['info', 'errorstats'])).not.toContain('CROSSSLOT');
    const fallbacks = logs.lines().filter((l) => String(l.msg).includes('insurance limiter answers'));
    for (const f of fallbacks) expect(f.err).toEqual({ codes: ['HF_QUOTA_STORE_TIMEOUT'] });
  });

  it("keeps the webhooks' replay claims on the cluster (SET NX PX, one key each)", async () => {
    const client = new Cluster(
      servers.list.split(',').map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
      { lazyConnect: true },
    );
    await client.connect();
    try {
      const store = redisReplayStore(client, `hf-test:${process.pid}:seen:`);
      expect(await store.claim('d1', 10_000)).toBe('new');
      expect(await store.claim('d1', 10_000)).toBe('processing');
      await store.complete('d1', 10_000);
      expect(await store.claim('d1', 10_000)).toBe('done');
      await store.release('d1');
      expect(await store.claim('d1', 10_000)).toBe('new');
    } finally {
      client.disconnect();
    }
  });

  it('a SIGKILLed primary: limits keep answering (no 5xx), the ban survives the failover', async () => {
    const victim: Shard = (await servers.shards())[0]!;
    const run = await runThroughFailover(a, b, {
      // Clients whose limit (or ban) lives on the shard whose primary dies.
      pick: (key) => victim.serves(key),
      settled: () => replicated(victim.primary.port, victim.replica.port),
      kill: () => victim.primary.kill(),
    });
    expect((await servers.shards()).map((s) => s.primary.port)).toContain(victim.replica.port);
    await expectFailoverHeld(run, c, victim.replica.port);
    console.info(
      `cluster failover: quota shared again after ${run.sharedBackMs} ms (/health: ${[...new Set(run.health)].join(' then ')}); over-admitted per client (limit ${LIMIT}/min, ${run.rate} req/s per instance): ${run.overAdmitted.join(', ')}`,
    );
  }, 600_000); // a hang guard, not a measurement
});
