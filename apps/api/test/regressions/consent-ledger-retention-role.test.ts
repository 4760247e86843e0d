// Issue 30 item 4, with the least-privilege role: the app's retention run erases the consent
// ledger's IPs and user agents after 90 days through consent.purge_ledger, which
// apps/api/sql/least-privilege.sql grants; the role still cannot UPDATE the ledger itself, nor make
// the function erase a young IP by passing its own dates. Real Postgres only (PGlite has one role).
import { migrate, resultRows } from '@harakaflow/db';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_MIGRATIONS, buildApp } from '../../src/index.js';
import { testConfig } from '../helpers.js';

const GRANTS = readFileSync(new URL('../../sql/least-privilege.sql', import.meta.url), 'utf8');

describe.skipIf(!postgresUrl)('the consent_ledger class under the least-privilege role', () => {
  let database: TestDatabase;
  let roleUrl: string;
  const role = `hf_ledger_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(postgresUrl ?? 'postgres://unused', { max: 1, onnotice: () => {} });

  beforeAll(async () => {
    database = await testDatabase();
    await admin.unsafe(`create role "${role}" login`);
    await migrate(database.db, [...APP_MIGRATIONS]);
    // Twice: the grants are rerunnable.
    for (let i = 0; i < 2; i++) await database.db.execute(sql.raw(GRANTS.replaceAll(':"app_role"', `"${role}"`)));
    const url = new URL(database.url!);
    url.username = role;
    url.password = '';
    roleUrl = url.toString();
  });
  afterAll(async () => {
    await database.close();
    await admin.unsafe(`drop role if exists "${role}"`);
    await admin.end();
  });

  it('purges through the function as the role, and only what is due', async () => {
    const client = postgres(roleUrl, { max: 1, onnotice: () => {} });
    const old = randomUUID();
    const young = randomUUID();
    try {
      // The role appends rows (here with their age set, as a backfill would).
      await client.unsafe(
        `insert into consent.records (id, consent_id, action, source, policy_version, categories, ip, user_agent, created_at) values
          ($1, 'c-old', 'grant', 'user', 'v1', '{analytics}', '203.0.113.1', 'UA old', now() - interval '91 days'),
          ($2, 'c-young', 'grant', 'user', 'v1', '{analytics}', '203.0.113.2', 'UA young', now() - interval '89 days')`,
        [old, young],
      );
      for (const statement of [
        `update consent.records set ip = null, user_agent = null where id = '${old}'`,
        `delete from consent.records where id = '${old}'`,
      ]) {
        await expect(client.unsafe(statement), statement).rejects.toMatchObject({ code: '42501' });
      }
      // Its own dates cannot make the function erase sooner.
      await client.unsafe(
        `select consent.purge_ledger(now() + interval '1 day', now() + interval '1 day', '{}', 10, false)`,
      );
      const rows = await client.unsafe(
        `select id, ip, user_agent from consent.records where consent_id in ('c-old', 'c-young') order by created_at`,
      );
      expect(rows.map((r) => [r.id, r.ip, r.user_agent])).toEqual([
        [old, null, null],
        [young, '203.0.113.2', 'UA young'],
      ]);
    } finally {
      await client.end();
    }
  });

  it('the app, connected as the role, runs the class with the rest of retention', async () => {
    const app = await buildApp(testConfig({ databaseUrl: roleUrl, migrationDatabaseUrl: database.url }));
    try {
      await app.ready();
      await database.db.execute(
        sql`insert into consent.records (id, consent_id, action, source, policy_version, categories, ip, user_agent, created_at) values (${randomUUID()}, 'c-run', 'grant', 'user', 'v1', '{analytics}', '203.0.113.3', 'UA run', now() - interval '100 days')`,
      );
      const result = await app.retention.runner.run({ only: 'consent_ledger' });
      expect(result.status).toBe('done');
      expect(result.classes).toEqual([expect.objectContaining({ name: 'consent_ledger', status: 'done', rows: 1 })]);
      const [row] = resultRows<{ ip: string | null }>(
        await database.db.execute(sql`select ip from consent.records where consent_id = 'c-run'`),
      );
      expect(row!.ip).toBeNull();
    } finally {
      await app.close();
    }
  });
});
