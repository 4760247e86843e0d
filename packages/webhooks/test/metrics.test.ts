// Issue 28 item 5: what webhooks reports through core's metrics interface, read from core's memory
// sink: the outbox (pending, failed, the oldest pending's age) and attempts by outcome.
import { bindMetrics, memoryMetrics } from '@harakaflow/core';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import Fastify from 'fastify';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, it, onTestFinished, vi } from 'vitest';
import webhooks, { memorySecretStore, webhooksMigrations } from '../src/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [webhooksMigrations] });
});
afterAll(() => db?.close());

it('moves pending, failed, the oldest pending age and attempts by outcome as deliveries are retried and given up', async () => {
  const server = createServer((_req, res) => void res.writeHead(500).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => void server.close());
  const sink = memoryMetrics();
  const app = Fastify();
  bindMetrics(app, sink);
  onTestFinished(() => app.close());
  await app.register(webhooks, {
    db: db.db,
    secrets: memorySecretStore(),
    eventTypes: ['quota.warning'],
    allowHttp: true,
    allowPrivateDestinations: true,
    dispatch: false,
  });
  await app.ready();
  // The clock moved past the scrape cache at each read, instead of waiting for it.
  vi.useFakeTimers({ toFake: ['Date'] });
  onTestFinished(() => void vi.useRealTimers());
  const read = async () => {
    vi.setSystemTime(Date.now() + 1001);
    await sink.collect();
    return (['pending', 'failed'] as const).map((s) => sink.value(`harakaflow_webhook_deliveries_${s}`));
  };
  expect(await read()).toEqual([0, 0]);
  expect(sink.value('harakaflow_webhook_oldest_pending_seconds')).toBe(0);

  await app.webhooks.create('acct-1', {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    events: ['quota.warning'],
  });
  await app.webhooks.emit('acct-1', 'quota.warning', { n: 1 });
  await app.webhooks.emit('acct-1', 'quota.warning', { n: 2 });
  expect(await app.webhooks.dispatch()).toBe(2);
  expect(sink.value('harakaflow_webhook_attempts_total', { outcome: 'retry' })).toBe(2);
  expect(await read()).toEqual([2, 0]);
  expect(sink.value('harakaflow_webhook_oldest_pending_seconds')).toBeGreaterThan(0);

  // Every retry but the last used up: the next failure gives one up.
  await db.db.execute(
    sql`update webhooks.deliveries set attempts = 7, next_attempt_at = now() where payload like '%"n":1%'`,
  );
  expect(await app.webhooks.dispatch()).toBe(1);
  expect(sink.value('harakaflow_webhook_attempts_total', { outcome: 'failed' })).toBe(1);
  expect(await read()).toEqual([1, 1]);
  // Held for a disabled endpoint (issue 34): a gauge of its own, not pending.
  expect(sink.value('harakaflow_webhook_deliveries_held')).toBe(0);
  await db.db.execute(sql`update webhooks.deliveries set status = 'held' where status = 'pending'`);
  expect(await read()).toEqual([0, 1]);
  expect(sink.value('harakaflow_webhook_deliveries_held')).toBe(1);
  // No label names the account, the endpoint or its URL.
  expect(sink.lines().join('\n')).not.toMatch(/acct-1|127\.0\.0\.1|\/hook/);
});
