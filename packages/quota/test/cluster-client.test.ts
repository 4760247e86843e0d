// Issue 28 item 4: `redis` may be an ioredis Cluster (the app's REDIS_CLUSTER_NODES), not only a
// Redis. A cluster that cannot be reached here: the option is accepted, and the insurance limiter
// answers (the app's redis-cluster.test.ts runs the package on a real cluster).
import { captureLogs, freePort } from '@harakaflow/testing';
import Fastify from 'fastify';
import { Cluster } from 'ioredis';
import { expect, it, onTestFinished } from 'vitest';
import quota from '../src/index.js';

it('accepts an ioredis Cluster as the redis store; unreachable, the insurance limiter answers', async () => {
  const cluster = new Cluster([{ host: '127.0.0.1', port: await freePort() }], {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: () => null,
  });
  cluster.on('error', () => {});
  const logs = captureLogs();
  const app = Fastify({ logger: { level: 'warn', stream: logs.stream } });
  onTestFinished(async () => {
    await app.close();
    cluster.disconnect();
  });
  await app.register(quota, { store: 'redis', redis: cluster, anonymous: { requestsPerMinute: 2 } });
  app.get('/x', async () => ({ ok: true }));
  await app.ready();
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await app.inject({ url: '/x', remoteAddress: '203.0.113.9' })).statusCode);
  expect(codes).toEqual([200, 200, 429]);
  expect(logs.text()).toContain('insurance limiter answers');
});
