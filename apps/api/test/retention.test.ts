// Issue 16 (first part) in the reference app: §4's classes registered by the app and its packages,
// purged per plan by one run, legal holds through the admin routes, the admin's view, the CLI.
import { loadConfig } from '@harakaflow/api';
import { resultRows } from '@harakaflow/db';
import { fromDist, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ADMIN_KEY, signup, testApp } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(() => database.close());

const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const rows = async (query: ReturnType<typeof sql>) =>
  resultRows<Record<string, unknown>>(await database.db.execute(query));
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

async function logAt(accountId: string, daysAgo: number) {
  const id = randomUUID();
  await database.db.execute(
    sql`insert into app.message_log (id, account_id, session_id, "to", chars, created_at) values (${id}, ${accountId}::uuid, 'wa-1', '+254711000001', 5, ${ago(daysAgo)}::timestamptz)`,
  );
  return id;
}

describe('§4 in the app', () => {
  it('purges each class past its period (message logs per plan), keeps what a hold names, and lists it all for the admin', async () => {
    const { app } = await testApp(database);
    onTestFinished(() => app.close());
    const free = (await signup(app)).account;
    const pro = (await signup(app)).account;
    const held = (await signup(app)).account;
    await database.db.execute(sql`update app.accounts set plan = 'pro' where id = ${pro.id}::uuid`);
    const freeOld = await logAt(free.id, 100);
    const freeNew = await logAt(free.id, 80);
    const proKept = await logAt(pro.id, 100); // pro keeps 180 days
    const proOld = await logAt(pro.id, 200);
    const heldOld = await logAt(held.id, 100);
    // A settled notification, a webhook delivery and a day of usage, all past their periods.
    await database.db.execute(
      sql`insert into notify.outbox (id, kind, account_id, address, data, status, attempts, next_attempt_at, created_at) values (${randomUUID()}, 'quota.warning', ${free.id}, 'x@example.com', '{}'::jsonb, 'sent', 1, now(), ${ago(31)}::timestamptz)`,
    );
    await database.db.execute(
      sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, attempts, next_attempt_at, created_at) values (${randomUUID()}, ${randomUUID()}, ${free.id}, 'message.sent', '{}', 'delivered', 1, now(), ${ago(31)}::timestamptz)`,
    );
    // Held for an endpoint that stayed disabled (issue 34): the same class removes it in time; a pending one it leaves.
    await database.db.execute(
      sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, attempts, next_attempt_at, created_at) values (${randomUUID()}, ${randomUUID()}, ${free.id}, 'message.sent', '{}', 'held', 1, now(), ${ago(31)}::timestamptz)`,
    );
    await database.db.execute(
      sql`insert into webhooks.deliveries (id, endpoint_id, account_id, event_type, payload, status, attempts, next_attempt_at, created_at) values (${randomUUID()}, ${randomUUID()}, ${free.id}, 'message.sent', '{}', 'pending', 1, now() + interval '1 day', ${ago(31)}::timestamptz)`,
    );
    await database.db.execute(
      sql`insert into quota.usage_daily (account_id, day, metric, count) values (${free.id}, ${ago(91).slice(0, 10)}::date, 'requests', 3)`,
    );

    const hold = await app.inject({
      method: 'POST',
      url: '/v1/admin/retention/holds',
      headers: admin,
      payload: { subject: { kind: 'account', accountId: held.id }, reason: 'dispute 2026-118' },
    });
    expect(hold.statusCode).toBe(201);
    expect(hold.json()).toMatchObject({ id: expect.any(String), subjectId: held.id, createdBy: 'admin' });
    for (const [payload, code] of [
      [{ reason: 'names nothing' }, 'HF_RETENTION_INVALID_HOLD'],
      [{ class: 'nope', reason: 'x' }, 'HF_RETENTION_UNKNOWN_CLASS'],
      [{ subjectId: held.id }, 'HF_VALIDATION_FAILED'],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/admin/retention/holds', headers: admin, payload });
      expect(res.statusCode, code).toBe(400);
      expect(res.json().code).toBe(code);
    }

    const result = await app.retention.runner.run();
    const byName = Object.fromEntries(result.classes.map((c) => [c.name, c]));
    expect(byName.message_logs).toMatchObject({ status: 'done', rows: 2 });
    expect(byName.notifications).toMatchObject({ status: 'done', rows: 1 });
    expect(byName.webhook_deliveries).toMatchObject({ status: 'done', rows: 2 });
    expect(await rows(sql`select status from webhooks.deliveries where account_id = ${free.id}`)).toEqual([
      { status: 'pending' },
    ]);
    expect(byName.quota_usage).toMatchObject({ status: 'done', rows: 1 });
    // The audit log is young here: nothing past its 90 days (its day drops: packages/audit/test/partitions.test.ts).
    expect(byName.server_logs).toMatchObject({ status: 'done', rows: 0, partitions: 0 });
    for (const name of ['media', 'billing', 'deleted_accounts']) expect(byName[name]?.status, name).toBe('skipped');
    const left = (await rows(sql`select id from app.message_log`)).map((r) => r.id);
    expect(left.sort()).toEqual([freeNew, proKept, heldOld].sort());
    expect(left).not.toContain(freeOld);
    expect(left).not.toContain(proOld);

    // Released, the held account's row goes at the next run.
    expect(
      (await app.inject({ method: 'DELETE', url: `/v1/admin/retention/holds/${hold.json().id}`, headers: admin }))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await app.inject({ method: 'DELETE', url: `/v1/admin/retention/holds/${hold.json().id}`, headers: admin })
      ).json().code,
    ).toBe('HF_RETENTION_HOLD_NOT_FOUND');
    await app.retention.runner.run({ only: 'message_logs' });
    expect((await rows(sql`select id from app.message_log`)).map((r) => r.id)).not.toContain(heldOld);

    const view = (await app.inject({ url: '/v1/admin/retention', headers: admin })).json();
    expect(view.classes.map((c: { name: string }) => c.name).sort()).toEqual([
      'billing',
      'consent_ledger',
      'contact_requests',
      'deleted_accounts',
      'idempotency_keys',
      'media',
      'message_logs',
      'notifications',
      'quota_usage',
      'rights_requests',
      'server_logs',
      'webhook_deliveries',
      'webhook_replay',
    ]);
    expect(view.classes.find((c: { name: string }) => c.name === 'message_logs')).toMatchObject({
      clause: expect.stringContaining('§4'),
      periodDays: 90,
      perPlanDays: { pro: 180, business: 365 },
      oldest: expect.any(String),
    });
    expect(view.holds).toEqual([]);
    expect(view.lastRun).toMatchObject({ status: 'done' });
    expect(
      (await app.inject({ url: '/v1/admin/retention', headers: { authorization: 'Bearer hf_nope' } })).statusCode,
    ).toBe(401);
    // The proof of each purge, and of the hold.
    await app.audit.flush();
    const actions = (await rows(sql`select action from audit.events where action like 'retention.%'`)).map(
      (r) => r.action,
    );
    expect(actions.filter((a) => a === 'retention.purged').length).toBeGreaterThanOrEqual(4);
    expect(actions).toContain('retention.hold.placed');
    expect(actions).toContain('retention.hold.released');
  });

  it('stops startup on a bad period, naming the variable', () => {
    const bad: [string, string][] = [
      ['RETENTION_MESSAGE_LOG_DAYS', '0'],
      ['RETENTION_MESSAGE_LOG_DAYS', '91'],
      ['RETENTION_MESSAGE_LOG_DAYS', 'ninety'],
      ['RETENTION_MESSAGE_LOG_DAYS_PRO', '366'],
      ['RETENTION_MESSAGE_LOG_DAYS_BUSINESS', '-5'],
      ['RETENTION_SERVER_LOG_DAYS', '120'],
      ['RETENTION_SERVER_LOG_DAYS', '3'],
      ['RETENTION_INTERVAL_MINUTES', '-1'],
    ];
    for (const [name, value] of bad) {
      expect(
        () => loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-ret-')), [name]: value }),
        `${name}=${value}`,
      ).toThrow(expect.objectContaining({ problems: [expect.stringContaining(name)] }));
    }
  });

  it('runs from the command line: a dry run as JSON changes nothing', async () => {
    if (!database.url) return; // the CLI needs a database of its own process (PGlite is this one's)
    const { app } = await testApp(database);
    const account = (await signup(app)).account;
    const old = await logAt(account.id, 120);
    await app.close();
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [
          ...fromDist(join(root, 'apps/api/src/cli/retention.ts')),
          'run',
          '--dry-run',
          '--class',
          'message_logs',
          '--json',
        ],
        {
          env: {
            ...process.env,
            DATABASE_URL: database.url,
            DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-ret-cli-')),
            LOG_LEVEL: 'error',
          },
          cwd: join(root, 'apps/api'),
          encoding: 'utf8',
        },
        (error, stdout, stderr) =>
          done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      dryRun: true,
      status: 'done',
      classes: [
        {
          name: 'message_logs',
          cutoff: expect.any(String),
          rows: expect.any(Number),
          partitions: 0,
          status: 'dry-run',
        },
      ],
    });
    expect(JSON.parse(out.stdout).classes[0].rows).toBeGreaterThanOrEqual(1);
    expect(await rows(sql`select id from app.message_log where id = ${old}::uuid`)).toHaveLength(1);
  });
});
