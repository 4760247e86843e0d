// @harakaflow/retention: classes purged exactly at their cutoff, per plan, in batches, honouring
// legal holds; dry runs; one runner at a time; a killed run resumed; every purge audited.
import { registerRetentionClass, type RetentionClass } from '@harakaflow/core';
import { createDatabase, resultRows } from '@harakaflow/db';
import { captureLogs, postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { and, eq, lt, or, sql } from 'drizzle-orm';
import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import retention, { retentionMigrations, tableClass, type RetentionOptions } from '../src/index.js';

const items = pgTable('retention_test_items', {
  id: uuid('id').primaryKey(),
  accountId: text('account_id').notNull(),
  plan: text('plan').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
});

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase({ migrations: [retentionMigrations] });
  await database.db.execute(
    sql`create table retention_test_items (id uuid primary key, account_id text not null, plan text not null, created_at timestamptz not null)`,
  );
});
afterAll(() => database.close());
beforeEach(async () => {
  await database.truncate('retention');
  await database.db.execute(sql`delete from retention_test_items`);
});

// 2026-03-09 12:00 UTC: a day after the United States moved its clocks (periods are counted in UTC).
const NOW = Date.parse('2026-03-09T12:00:00Z');
const DAY = 86_400_000;
const CUTOFF_90 = Date.parse('2025-12-09T12:00:00Z'); // NOW minus 90 days (issue 30 item 3: at most 90 days)

function itemsClass(db = database.db, extra: Partial<RetentionClass> = {}): RetentionClass {
  return tableClass({
    db,
    name: 'message_logs',
    policyClause: '§4: message logs up to 90 days by default, configurable on higher plans',
    periodDays: 90,
    perPlanDays: { pro: 365 },
    table: items,
    key: items.id,
    time: items.createdAt,
    subject: items.accountId,
    // A row's period is its plan's: free rows past 90 days, pro rows past 365.
    expired: (b) =>
      or(
        and(eq(items.plan, 'pro'), lt(items.createdAt, sql`${b.planCutoffs.get('pro')!.toISOString()}::timestamptz`)),
        and(sql`${items.plan} <> 'pro'`, lt(items.createdAt, sql`${b.cutoff.toISOString()}::timestamptz`)),
      )!,
    ...extra,
  });
}

async function build(
  options: Partial<RetentionOptions> = {},
  classes: (db: typeof database.db) => RetentionClass[] = (db) => [itemsClass(db)],
  db = database.db,
) {
  const logs = captureLogs();
  const app = Fastify({ logger: { level: 'info', stream: logs.stream } });
  await app.register(retention, { db, intervalMinutes: 0, now: () => NOW, ...options });
  for (const c of classes(db)) registerRetentionClass(app, c);
  await app.ready();
  onTestFinished(() => app.close());
  return { app, logs };
}

async function seed(rows: { at: number; accountId?: string; plan?: string }[]) {
  const ids = rows.map(() => randomUUID());
  for (let i = 0; i < rows.length; i += 500) {
    await database.db.insert(items).values(
      rows.slice(i, i + 500).map((r, j) => ({
        id: ids[i + j]!,
        accountId: r.accountId ?? 'acct-a',
        plan: r.plan ?? 'free',
        createdAt: new Date(r.at),
      })),
    );
  }
  return ids;
}
const left = async () =>
  resultRows<{ id: string }>(await database.db.execute(sql`select id from retention_test_items`)).map((r) => r.id);

describe('the cutoff', () => {
  it('removes a row a second past the period and keeps one a second inside, whatever the time zone', async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    onTestFinished(() => {
      process.env.TZ = tz;
    });
    const [outside, inside] = await seed([{ at: CUTOFF_90 - 1000 }, { at: CUTOFF_90 + 1000 }]);
    const { app, logs } = await build();
    const result = await app.retention.runner.run();
    expect(result).toMatchObject({
      status: 'done',
      classes: [{ name: 'message_logs', cutoff: '2025-12-09T12:00:00.000Z', rows: 1, status: 'done' }],
    });
    expect(await left()).toEqual([inside]);
    expect(await left()).not.toContain(outside);
    // The proof: one audit security event per class.
    const proof = logs.lines().filter((l) => l.msg === 'retention.purged');
    expect(proof).toHaveLength(1);
    expect((proof[0] as { securityEvent: { details: object } }).securityEvent.details).toMatchObject({
      class: 'message_logs',
      rows: 1,
      cutoff: '2025-12-09T12:00:00.000Z',
    });
  });

  it('gives higher plans their longer period, and deletes in batches until nothing is left', async () => {
    await seed([
      ...Array.from({ length: 23 }, () => ({ at: NOW - 100 * DAY, plan: 'free' })),
      { at: NOW - 100 * DAY, plan: 'pro' },
      { at: NOW - 400 * DAY, plan: 'pro' },
    ]);
    const { app } = await build({ batchSize: 5 });
    const result = await app.retention.runner.run();
    expect(result.classes[0]).toMatchObject({ rows: 24, status: 'done' });
    const rest = resultRows<{ plan: string; created_at: unknown }>(
      await database.db.execute(sql`select plan, created_at from retention_test_items`),
    );
    expect(rest.map((r) => r.plan)).toEqual(['pro']);
  });

  it('counts on a dry run and changes nothing, not even the run history', async () => {
    await seed([{ at: NOW - 200 * DAY }, { at: NOW - 200 * DAY }, { at: NOW - DAY }]);
    const { app, logs } = await build();
    const dry = await app.retention.runner.run({ dryRun: true });
    expect(dry).toMatchObject({
      dryRun: true,
      runId: null,
      status: 'done',
      classes: [{ name: 'message_logs', rows: 2, status: 'dry-run' }],
    });
    expect(await left()).toHaveLength(3);
    expect(resultRows(await database.db.execute(sql`select 1 from retention.runs`))).toHaveLength(0);
    expect(logs.lines().filter((l) => l.msg === 'retention.purged')).toHaveLength(0);
  });
});

describe('legal holds', () => {
  it('keep a held subject’s rows, or a whole class, until released; each hold and release is audited', async () => {
    const [heldRow] = await seed([
      { at: NOW - 200 * DAY, accountId: 'acct-held' },
      { at: NOW - 200 * DAY, accountId: 'acct-free' },
    ]);
    const { app, logs } = await build();
    const hold = await app.retention.holds.place({ subjectId: 'acct-held', reason: 'court order 2026/114' }, 'admin');
    expect(hold).toMatchObject({ id: expect.any(String), subjectId: 'acct-held', class: null, createdBy: 'admin' });
    expect((await app.retention.runner.run()).classes[0]).toMatchObject({ rows: 1 });
    expect(await left()).toEqual([heldRow]);
    const classHold = await app.retention.holds.place({ class: 'message_logs', reason: 'regulator inquiry' }, 'admin');
    await app.retention.holds.release(hold.id, 'admin');
    expect((await app.retention.runner.run()).classes[0]).toMatchObject({ status: 'held', rows: 0 });
    expect(await left()).toEqual([heldRow]);
    await app.retention.holds.release(classHold.id, 'admin');
    expect((await app.retention.runner.run()).classes[0]).toMatchObject({ status: 'done', rows: 1 });
    expect(await left()).toEqual([]);
    expect(logs.lines().filter((l) => l.msg === 'retention.hold.placed')).toHaveLength(2);
    expect(logs.lines().filter((l) => l.msg === 'retention.hold.released')).toHaveLength(2);
  });

  it('refuses holds that name nothing, no reason, an unknown class, a past date, or an unknown id', async () => {
    const { app } = await build();
    await expect(app.retention.holds.place({ reason: 'x' }, 'admin')).rejects.toMatchObject({
      code: 'HF_RETENTION_INVALID_HOLD',
      statusCode: 400,
    });
    await expect(app.retention.holds.place({ subjectId: 'a', reason: ' ' }, 'admin')).rejects.toMatchObject({
      code: 'HF_RETENTION_INVALID_HOLD',
    });
    await expect(app.retention.holds.place({ class: 'nope', reason: 'x' }, 'admin')).rejects.toMatchObject({
      code: 'HF_RETENTION_UNKNOWN_CLASS',
    });
    await expect(
      app.retention.holds.place({ subjectId: 'a', reason: 'x', until: '2020-01-01' }, 'admin'),
    ).rejects.toMatchObject({ code: 'HF_RETENTION_INVALID_HOLD' });
    await expect(app.retention.holds.release(randomUUID(), 'admin')).rejects.toMatchObject({
      code: 'HF_RETENTION_HOLD_NOT_FOUND',
      statusCode: 404,
    });
    await expect(app.retention.holds.release('not-an-id', 'admin')).rejects.toMatchObject({
      code: 'HF_RETENTION_HOLD_NOT_FOUND',
    });
  });
});

describe('failures and crashes', () => {
  it('reports a failing class and still runs the next (retention.failed recorded)', async () => {
    await seed([{ at: NOW - 200 * DAY }]);
    const broken: RetentionClass = {
      name: 'broken',
      policyClause: '§4: test',
      periodDays: 30,
      purgeBatch: async () => Promise.reject(Object.assign(new Error('relation gone'), { code: '42P01' })),
    };
    const { app, logs } = await build({}, (db) => [broken, itemsClass(db)]);
    const result = await app.retention.runner.run();
    expect(result.status).toBe('failed');
    expect(result.classes.map((c) => [c.name, c.status, c.error])).toEqual([
      ['broken', 'failed', '42P01'],
      ['message_logs', 'done', undefined],
    ]);
    expect(await left()).toEqual([]);
    expect(logs.lines().filter((l) => l.msg === 'retention.failed')).toHaveLength(1);
    // Classes with no table here (media, billing) are listed, and skipped.
    const { app: other } = await build({}, () => [
      { name: 'billing', policyClause: '§4: billing records 7 years', periodDays: 2555 },
    ]);
    expect((await other.retention.runner.run()).classes).toEqual([
      { name: 'billing', cutoff: null, rows: 0, partitions: 0, status: 'skipped' },
    ]);
  });

  it('resumes a killed run: the same run, its finished classes kept, the rest done', async () => {
    await seed([{ at: NOW - 200 * DAY }]);
    // What a run killed after finishing "first" left: its row, that class's record, a lease run out.
    const runId = '01900000-0000-7000-8000-000000000001';
    await database.db.execute(
      sql`insert into retention.runs (id, started_at, status) values (${runId}, now(), 'running')`,
    );
    await database.db.execute(
      sql`insert into retention.class_runs (run_id, class, cutoff, rows, status, updated_at) values (${runId}, 'first', now(), 7, 'done', now())`,
    );
    await database.db.execute(
      sql`insert into retention.lease (id, holder, until) values (1, 'killed', now() - interval '1 minute')`,
    );
    let firstRan = false;
    const first: RetentionClass = {
      name: 'first',
      policyClause: '§4: test',
      periodDays: 30,
      purgeBatch: async () => ((firstRan = true), { rows: 0, done: true }),
    };
    // The database's clock ran the lease out: this runner reads the same clock.
    const { app } = await build({ now: () => Date.now() }, (db) => [first, itemsClass(db)]);
    const result = await app.retention.runner.run();
    expect(result).toMatchObject({
      runId,
      status: 'done',
      classes: [
        { name: 'first', rows: 7, status: 'done' },
        { name: 'message_logs', rows: 1, status: 'done' },
      ],
    });
    expect(firstRan).toBe(false);
    expect(resultRows(await database.db.execute(sql`select status from retention.runs where id = ${runId}`))).toEqual([
      { status: 'done' },
    ]);
  });

  it('waits out a live lease: a second runner does nothing', async () => {
    await database.db.execute(
      sql`insert into retention.lease (id, holder, until) values (1, 'someone-else', now() + interval '1 hour')`,
    );
    await seed([{ at: NOW - 200 * DAY }]);
    const { app } = await build({ now: () => Date.now() });
    expect(await app.retention.runner.run()).toEqual({ runId: null, dryRun: false, status: 'busy', classes: [] });
    expect(await left()).toHaveLength(1);
  });
});

describe('two runners on real Postgres', () => {
  it.skipIf(!postgresUrl)('never purge twice: one runs, the other is busy, and every row goes once', async () => {
    await seed(Array.from({ length: 3000 }, () => ({ at: NOW - 200 * DAY })));
    const pools = [
      await createDatabase({ url: database.url, max: 3 }),
      await createDatabase({ url: database.url, max: 3 }),
    ];
    onTestFinished(async () => {
      for (const p of pools) await p.close();
    });
    const one = (await build({ batchSize: 100 }, (db) => [itemsClass(db)], pools[0]!.db)).app;
    const two = (await build({ batchSize: 100 }, (db) => [itemsClass(db)], pools[1]!.db)).app;
    const results = await Promise.all([one.retention.runner.run(), two.retention.runner.run()]);
    const removed = results.flatMap((r) => r.classes).reduce((n, c) => n + c.rows, 0);
    expect(removed).toBe(3000);
    expect(results.map((r) => r.status).sort()).toEqual(
      results.some((r) => r.status === 'busy') ? ['busy', 'done'] : ['done', 'done'],
    );
    expect(await left()).toHaveLength(0);
  });
});

describe('options and the admin view', () => {
  it('refuses bad options naming them, and lists every class with its clause, period and oldest row', async () => {
    for (const [bad, name] of [
      [{ intervalMinutes: -1 }, 'intervalMinutes'],
      [{ batchSize: 0 }, 'batchSize'],
      [{ db: {} as never }, 'db'],
    ] as const) {
      const instance = Fastify();
      await expect(
        instance.register(retention, { db: database.db, ...bad } as RetentionOptions).ready(),
        name,
      ).rejects.toMatchObject({ code: 'HF_RETENTION_INVALID_OPTION', message: expect.stringContaining(`"${name}"`) });
      await instance.close();
    }
    await seed([{ at: Date.parse('2026-01-02T03:04:05Z') }]);
    const { app } = await build();
    const status = await app.retention.status();
    expect(status.classes).toEqual([
      {
        name: 'message_logs',
        clause: expect.stringContaining('§4'),
        periodDays: 90,
        perPlanDays: { pro: 365 },
        oldest: '2026-01-02T03:04:05.000Z',
      },
    ]);
    expect(status.holds).toEqual([]);
    expect(() => registerRetentionClass(app, itemsClass())).toThrow(
      expect.objectContaining({ code: 'HF_CORE_DUPLICATE_RETENTION_CLASS' }),
    );
  });
});
