// Issue 28 item 5: what quota reports through core's metrics interface, read from core's memory
// sink (no metrics library): refusals, bans and banned refusals by limit, and, with a Redis store
// that cannot be reached, store failures and the insurance limiter's answers.
import { bindMetrics, memoryMetrics } from '@harakaflow/core';
import { freePort } from '@harakaflow/testing';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { expect, it, onTestFinished } from 'vitest';
import quota, { type QuotaOptions } from '../src/index.js';

async function app(options: Partial<QuotaOptions>) {
  const sink = memoryMetrics();
  const instance = Fastify();
  bindMetrics(instance, sink);
  onTestFinished(() => instance.close());
  await instance.register(quota, {
    anonymous: { requestsPerMinute: 2 },
    bans: { after: 1, windowSeconds: 600, durations: [60] },
    ...options,
  });
  instance.get('/x', async () => ({ ok: true }));
  instance.post(
    '/login',
    { config: { quota: { failClosed: true, limits: [{ name: 'login.minute', points: 2, duration: 60 }] } } },
    async () => ({ ok: true }),
  );
  await instance.ready();
  return { instance, sink };
}

it('counts refusals and the ban they lead to by limit, then the banned client refused, and bans by hand', async () => {
  const { instance, sink } = await app({});
  const codes = [];
  for (let i = 0; i < 4; i++)
    codes.push((await instance.inject({ url: '/x', remoteAddress: '203.0.113.5' })).statusCode);
  expect(codes).toEqual([200, 200, 429, 403]);
  expect(sink.value('harakaflow_quota_refusals_total', { limit: 'anonymous.minute' })).toBe(1);
  expect(sink.value('harakaflow_quota_bans_total', { limit: 'anonymous.minute' })).toBe(1);
  expect(sink.value('harakaflow_quota_banned_refusals_total')).toBe(1);
  await instance.quota.ban('acct:a-1', 60, 'abuse');
  expect(sink.value('harakaflow_quota_bans_total', { limit: 'operator' })).toBe(1);
  // The memory store does not fail.
  expect(sink.value('harakaflow_quota_store_failures_total', { limit: 'anonymous.minute' })).toBeUndefined();
  // No label holds the client's address or key.
  expect(sink.lines().join('\n')).not.toMatch(/203\.0\.113|ipk:|acct:/);
});

it('counts store failures, and the answers of the insurance limiter where it stands in (not where the limit is fail-closed)', async () => {
  const redis = new Redis({
    port: await freePort(),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  onTestFinished(() => redis.disconnect());
  const { instance, sink } = await app({ store: 'redis', redis, storeTimeoutMs: 200 });
  const codes = [];
  for (let i = 0; i < 3; i++)
    codes.push((await instance.inject({ url: '/x', remoteAddress: '203.0.113.6' })).statusCode);
  expect(codes.slice(0, 2)).toEqual([200, 200]);
  expect(sink.value('harakaflow_quota_store_failures_total', { limit: 'anonymous.minute' })).toBe(3);
  expect(sink.value('harakaflow_quota_insurance_answers_total', { limit: 'anonymous.minute' })).toBe(3);
  expect((await instance.inject({ method: 'POST', url: '/login', remoteAddress: '203.0.113.7' })).json()).toMatchObject(
    { code: 'HF_QUOTA_UNAVAILABLE' },
  );
  // The route's limits are fail-closed, the anonymous one included: one more failure, no insurance answer.
  expect(sink.value('harakaflow_quota_store_failures_total', { limit: 'anonymous.minute' })).toBe(4);
  expect(sink.value('harakaflow_quota_insurance_answers_total', { limit: 'anonymous.minute' })).toBe(3);
});
