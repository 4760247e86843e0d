// Issue 30 item 3: "up to 90 days" means at most 90 days. Cutoffs were the UTC midnight N days
// back, so a row created N days and 1 hour ago survived a run (and, with day partitions, a server
// log lived up to N + 1 days). Now a row class cuts at now − N days, and the audit log's day
// partitions keep today and the N − 1 whole days before it. Both tested at N days ± 1 hour.
import audit, { AuditWriter, auditMigrations } from '@harakaflow/audit';
import { prepareKeys, registerRetentionClass } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import { captureLogs, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import retention, { periodCutoff, retentionMigrations, tableClass } from '../../src/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CHECKPOINT_KEY = 'retention-regression-checkpoint-key-0123456789';

const items = pgTable('at_most_items', {
  id: uuid('id').primaryKey(),
  accountId: text('account_id').notNull(),
  plan: text('plan').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
});

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [auditMigrations, retentionMigrations] });
  await database.db.execute(
    sql`create table at_most_items (id uuid primary key, account_id text not null, plan text not null, created_at timestamptz not null)`,
  );
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.truncate('retention', 'audit');
  await database.db.execute(sql`delete from at_most_items`);
});

const rows = async <T>(query: ReturnType<typeof sql>) => resultRows<T>(await database.db.execute(query));

describe('a row class', () => {
  it('removes a row N days and 1 hour old and keeps one N days less 1 hour old, per plan too', async () => {
    const now = Date.parse('2026-03-09T12:00:00Z');
    const at = [
      ['free-over', 'free', now - 90 * DAY - HOUR],
      ['free-under', 'free', now - 90 * DAY + HOUR],
      ['pro-over', 'pro', now - 365 * DAY - HOUR],
      ['pro-under', 'pro', now - 365 * DAY + HOUR],
    ] as const;
    const ids = new Map(at.map(([name]) => [name, randomUUID()]));
    await database.db
      .insert(items)
      .values(at.map(([name, plan, t]) => ({ id: ids.get(name)!, accountId: 'acct-a', plan, createdAt: new Date(t) })));

    const app = Fastify({ logger: { level: 'info', stream: captureLogs().stream } });
    onTestFinished(() => app.close());
    await app.register(retention, { db: database.db, intervalMinutes: 0, now: () => now });
    registerRetentionClass(
      app,
      tableClass({
        db: database.db,
        name: 'message_logs',
        policyClause: '§4: message logs up to 90 days',
        periodDays: 90,
        perPlanDays: { pro: 365 },
        table: items,
        key: items.id,
        time: items.createdAt,
        subject: items.accountId,
        expired: (b) =>
          sql`${items.createdAt} < case ${items.plan} when 'pro' then ${b.planCutoffs.get('pro')!.toISOString()}::timestamptz else ${b.cutoff.toISOString()}::timestamptz end`,
      }),
    );
    await app.ready();

    const result = await app.retention.runner.run();
    expect(result.classes).toMatchObject([
      { name: 'message_logs', cutoff: new Date(now - 90 * DAY).toISOString(), rows: 2, status: 'done' },
    ]);
    const left = (await rows<{ id: string }>(sql`select id from at_most_items`)).map((r) => r.id).sort();
    expect(left).toEqual([ids.get('free-under')!, ids.get('pro-under')!].sort());
    expect(periodCutoff(new Date(now), 90).toISOString()).toBe('2025-12-09T12:00:00.000Z');
  });
});

describe('the audit log’s day partitions (server_logs)', () => {
  it('keep today and the N − 1 days before it: an event N days and 1 hour old goes, one N days less 1 hour old stays', async () => {
    // 23:00 UTC today (the runner's clock), so N days less an hour is the first hour of the oldest
    // kept day, and N days and an hour is the last hour of the day before it. N = 10.
    const today = new Date().toISOString().slice(0, 10);
    const now = Date.parse(`${today}T23:00:00Z`);
    const keys = [CHECKPOINT_KEY];
    let clock = now - 10 * DAY - HOUR;
    const seed = new AuditWriter({
      db: database.db,
      writer: 'seed',
      checkpointKeys: prepareKeys(keys),
      batchSize: 100,
      flushIntervalMs: 5,
      maxBuffered: 1000,
      spillDir: null,
      retryBaseMs: 5,
      retryMaxMs: 20,
      writeTimeoutMs: 10_000,
      staleAfterMs: 60_000,
      logger: { warn: () => {}, error: () => {} },
      now: () => new Date(clock),
    });
    seed.append({ kind: 'security', action: 'test.over', subjectId: 'acct-a' });
    clock = now - 10 * DAY + HOUR;
    seed.append({ kind: 'security', action: 'test.under', subjectId: 'acct-a' });
    await seed.close();

    const app = Fastify({ logger: { level: 'info', stream: captureLogs().stream } });
    onTestFinished(() => app.close());
    await app.register(audit, {
      db: database.db,
      checkpointKeys: keys,
      spillDir: false,
      access: false,
      retentionDays: 10,
    });
    await app.register(retention, { db: database.db, intervalMinutes: 0, now: () => now });
    await app.ready();

    const result = await app.retention.runner.run({ only: 'server_logs' });
    expect(result.classes).toMatchObject([{ name: 'server_logs', status: 'done', rows: 1, partitions: 1 }]);
    const left = await rows<{ action: string; day: string }>(
      sql`select action, day::text as day from audit.events where action like 'test.%' order by id`,
    );
    expect(left).toEqual([{ action: 'test.under', day: new Date(now - 10 * DAY + HOUR).toISOString().slice(0, 10) }]);
    // No event kept is older than N days (plus the time until the next run), and the chains still verify.
    const [oldest] = await rows<{ at: string | Date }>(sql`select min(occurred_at) as at from audit.events`);
    expect(now - new Date(oldest!.at).getTime()).toBeLessThanOrEqual(10 * DAY);
    await app.audit.flush();
    const verified = await app.audit.verify();
    expect(verified.problems).toEqual([]);
    expect(verified.anchor).toMatchObject({
      kind: 'horizon',
      horizon: new Date(now - 9 * DAY).toISOString().slice(0, 10),
    });
  });
});
