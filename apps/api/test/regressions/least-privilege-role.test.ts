// Issue 12 item 6: the app had one role, which could UPDATE, DELETE and TRUNCATE the consent
// ledger. With MIGRATION_DATABASE_URL the owner migrates while DATABASE_URL connects as a role
// granted by apps/api/sql/least-privilege.sql, which cannot rewrite the ledger. Real Postgres only
// (PGlite has one role).
import { AuditWriter } from '@harakaflow/audit';
import { prepareKeys } from '@harakaflow/core';
import { migrate } from '@harakaflow/db';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_MIGRATIONS, buildApp } from '../../src/index.js';
import { ADMIN_KEY, AUDIT_KEY, signupBody, testConfig } from '../helpers.js';

const GRANTS = readFileSync(new URL('../../sql/least-privilege.sql', import.meta.url), 'utf8');

describe.skipIf(!postgresUrl)('a least-privilege DATABASE_URL role', () => {
  let database: TestDatabase;
  let roleUrl: string;
  const role = `hf_app_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(postgresUrl ?? 'postgres://unused', { max: 1, onnotice: () => {} });

  beforeAll(async () => {
    database = await testDatabase();
    await admin.unsafe(`create role "${role}" login`);
    await migrate(database.db, [...APP_MIGRATIONS]);
    // Twice: the file is rerun after every upgrade, and must leave the same grants.
    await database.db.execute(sql.raw(GRANTS.replaceAll(':"app_role"', `"${role}"`)));
    await database.db.execute(sql.raw(GRANTS.replaceAll(':"app_role"', `"${role}"`)));
    const url = new URL(database.url!);
    url.username = role;
    url.password = '';
    roleUrl = url.toString();
  });
  afterAll(async () => {
    await database.close(); // drops the database, and with it the role's grants
    await admin.unsafe(`drop role if exists "${role}"`);
    await admin.end();
  });

  it('serves the app, whose erasures go through consent.erase_subject', async () => {
    const app = await buildApp(testConfig({ databaseUrl: roleUrl, migrationDatabaseUrl: database.url }));
    try {
      await app.ready();
      const created = await app.inject({ method: 'POST', url: '/v1/accounts', payload: signupBody() });
      expect(created.statusCode).toBe(201);
      const { account, apiKey } = created.json();
      expect(
        (
          await app.inject({
            method: 'PUT',
            url: '/v1/consent',
            payload: { analytics: false },
            headers: { authorization: `Bearer ${apiKey}` },
          })
        ).statusCode,
      ).toBe(200);
      const erased = await app.inject({
        method: 'POST',
        url: `/v1/admin/accounts/${account.id}/minor`,
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        payload: {},
      });
      expect(erased.statusCode).toBe(200);
      // audit: the signup's event is the account's too now (it carries the new account as subject),
      // and so is the data-rights request the report files.
      expect(erased.json()).toMatchObject({ status: 'done', counts: { consent: 1, audit: 5, app: 1 } });
    } finally {
      await app.close();
    }
  });

  it("writes, erases and purges format-3 audit events (COPY, interned user agents, a replay's staging table) as the role", async () => {
    const app = await buildApp(
      testConfig({ databaseUrl: roleUrl, migrationDatabaseUrl: database.url, auditChainVersion: 3 }),
    );
    try {
      await app.ready();
      const created = await app.inject({
        method: 'POST',
        url: '/v1/accounts',
        payload: signupBody(),
        headers: { 'user-agent': 'Agent/least-privilege' },
      });
      expect(created.statusCode).toBe(201);
      const { account } = created.json();
      const erased = await app.inject({
        method: 'POST',
        url: `/v1/admin/accounts/${account.id}/minor`,
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        payload: {},
      });
      expect(erased.statusCode).toBe(200);
      await app.audit.flush();
      expect(await app.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await app.close();
    }
    const client = postgres(roleUrl, { max: 1, onnotice: () => {} });
    try {
      const [row] = await client.unsafe(
        `select count(*)::int as n from audit.events where chain_version = 3 and hash_bytes is not null`,
      );
      expect(row!.n).toBeGreaterThan(0);
      expect((await client.unsafe(`select audit.purge_user_agents() as n`))[0]!.n).toBe(0); // every agent was seen today
      await client.begin(async (tx) => {
        await tx.unsafe('create temp table hf_audit_stage (like audit.events) on commit drop');
      });
      await expect(client.unsafe('delete from audit.user_agents')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.end();
    }
  });

  it('cannot UPDATE, DELETE or TRUNCATE the ledger, nor get around it with the old GUC, nor change the schema', async () => {
    const client = postgres(roleUrl, { max: 1, onnotice: () => {} });
    try {
      for (const statement of [
        "update consent.records set categories = '{}'",
        'delete from consent.records',
        'truncate consent.records',
        'drop table app.accounts',
        'alter table consent.records disable trigger all',
      ]) {
        await expect(client.unsafe(statement), statement).rejects.toMatchObject({ code: '42501' });
      }
      await expect(
        client.begin(async (tx) => {
          await tx.unsafe(`select set_config('consent.allow_erase', 'on', true)`);
          await tx.unsafe('delete from consent.records');
        }),
      ).rejects.toMatchObject({ code: '42501' });
      expect((await client.unsafe(`select consent.erase_subject('nobody') as n`))[0]).toEqual({ n: 0 });
      // The audit log's days: created and (past the last week) dropped only through its functions.
      const today = new Date().toISOString().slice(0, 10);
      const part = `events_${today.replaceAll('-', '')}`;
      for (const statement of [
        `drop table audit.${part}`,
        `delete from audit.events`,
        `alter table audit.events detach partition audit.${part}`,
        `select audit.hf_swap_partitioned_events('events', false)`,
      ]) {
        await expect(client.unsafe(statement), statement).rejects.toMatchObject({ code: '42501' });
      }
      await expect(client.unsafe(`select audit.drop_day_partition(current_date - 1, '{}')`)).rejects.toThrow(
        /too recent/,
      );
      expect(
        (await client.unsafe(`select audit.ensure_day_partitions(current_date, current_date + 5) as n`))[0]!.n,
      ).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });

  // Issue 30 item 1: the role could UPDATE held copies, release them all with
  // release_held_events('2999-01-01', '{}'), and drop an expired day before the runner with an
  // empty list of held subjects (their events of that day never copied); the next real run then
  // verified `ok: true`. Now the functions read the holds themselves, the copies and their records
  // are read-only to the role, and verify checks the copies against the signed record of their day.
  it('cannot destroy legally held audit records: no UPDATE or DELETE of held copies, no held list or release date taken from the caller', async () => {
    const app = await buildApp(
      testConfig({ databaseUrl: roleUrl, migrationDatabaseUrl: database.url, retentionServerLogDays: 10 }),
    );
    const client = postgres(roleUrl, { max: 1, onnotice: () => {} });
    try {
      await app.ready();
      const held = `acct-held-${randomBytes(4).toString('hex')}`;
      // Three days of events 20 days back (one of the held account's a day), by a writer with the
      // app's checkpoint key, written as the tables' owner.
      const DAY = 86_400_000;
      let now =
        Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) - 20 * DAY + 3_600_000;
      const seed = new AuditWriter({
        db: database.db,
        writer: `seed-${held}`,
        checkpointKeys: prepareKeys([AUDIT_KEY]),
        batchSize: 100,
        flushIntervalMs: 5,
        maxBuffered: 1000,
        spillDir: null,
        retryBaseMs: 5,
        retryMaxMs: 50,
        writeTimeoutMs: 10_000,
        staleAfterMs: 60_000,
        logger: { warn: () => {}, error: () => {} },
        now: () => new Date(now),
      });
      const days: string[] = [];
      for (let d = 0; d < 3; d++) {
        seed.append({ kind: 'security', action: 'test.seeded', subjectId: held, details: { d } });
        seed.append({ kind: 'security', action: 'test.seeded', subjectId: 'acct-other', details: { d } });
        days.push(new Date(now).toISOString().slice(0, 10));
        now += DAY;
      }
      await seed.close();
      const hold = await app.inject({
        method: 'POST',
        url: '/v1/admin/retention/holds',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        payload: { subjectId: held, reason: 'litigation 2026-77' },
      });
      expect(hold.statusCode).toBe(201);
      const heldCopies = async () =>
        Number(
          (await client.unsafe(`select count(*)::int as n from audit.held_events where subject_id = $1`, [held]))[0]!.n,
        );

      // An expired day dropped before the runner, saying nobody is held: the held events are copied all the same.
      await client.unsafe(`select audit.drop_day_partition($1::date, '{}'::text[])`, [days[0]!]);
      expect(await heldCopies()).toBe(1);
      // Every held copy "released" with a date far ahead and nobody held: nothing goes.
      expect((await client.unsafe(`select audit.release_held_events('2999-01-01', '{}'::text[]) as n`))[0]!.n).toBe(0);
      // Nor without a chained release record.
      await expect(
        client.unsafe(`select audit.release_held_copies(gen_random_uuid(), array(select id from audit.held_events))`),
      ).rejects.toMatchObject({ code: '55000' });
      expect(await heldCopies()).toBe(1);
      // The copies, the released copies' traces and the days' records cannot be changed by the role.
      for (const statement of [
        `update audit.held_events set details = null, erased_by = 'invented'`,
        'delete from audit.held_events',
        `insert into audit.held_events select * from audit.held_events limit 0`,
        'delete from audit.held_released',
        'update audit.held_days set count = 0',
        `insert into audit.held_days (day, count, ids_sha256) values ('2000-01-01', 0, '')`,
        'delete from audit.held_days',
        'delete from retention.holds',
      ]) {
        await expect(client.unsafe(statement), statement).rejects.toMatchObject({ code: '42501' });
      }

      // The next real run drops the other expired days (copying the held events), signs what the
      // early drop recorded, and verify checks every copy against its day's signed record.
      const run = await app.retention.runner.run({ only: 'server_logs' });
      expect(run, JSON.stringify(run.classes)).toMatchObject({
        status: 'done',
        classes: [{ name: 'server_logs', status: 'done' }],
      });
      expect(await heldCopies()).toBe(3);
      await app.audit.flush();
      const verified = await app.audit.verify();
      expect(verified.problems).toEqual([]);
      expect(verified.held.events).toBeGreaterThanOrEqual(3);
      expect(verified.held.days).toBeGreaterThanOrEqual(3);
    } finally {
      await client.end();
      await app.close();
    }
  });

  it('a config with MIGRATION_DATABASE_URL but no DATABASE_URL is refused', async () => {
    const { parseConfig } = await import('../../src/index.js');
    expect(() => parseConfig({ MIGRATION_DATABASE_URL: 'postgres://owner@db/x' })).toThrow(
      /MIGRATION_DATABASE_URL needs DATABASE_URL/,
    );
  });
});
