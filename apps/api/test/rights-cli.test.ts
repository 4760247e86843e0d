// Issue 14 item 4: after a backup taken before a deletion is restored, `hf-rights reapply-erasures`
// with the journal kept outside the backup erases the restored subject again, in every table.
// And the queue from the command line. Real Postgres (the CLI is another process on the same database).
import { fromDist, postgresUrl, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, DATA_RIGHTS_SIGNING_KEYS, signup, testApp, testConfig } from './helpers.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli/rights.ts', import.meta.url));

describe.skipIf(!postgresUrl)('hf-rights', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await testDatabase();
  });
  afterAll(() => database.close());

  const rowsOf = async (query: ReturnType<typeof sql>) => resultRows(await database.db.execute(query));
  /** The kit's tables (every schema but Postgres' own, the journals and the backup's). */
  const tables = async () =>
    (await rowsOf(
      sql`select table_schema as s, table_name as t from information_schema.tables where table_type = 'BASE TABLE'
          and table_schema not in ('pg_catalog', 'information_schema', 'backup') and table_schema not like 'drizzle%' and table_name not like '%migrations%'`,
    )) as { s: string; t: string }[];
  const dump = async () => {
    let text = '';
    for (const { s, t } of await tables()) text += JSON.stringify(await rowsOf(sql.raw(`select * from "${s}"."${t}"`)));
    return text;
  };

  const cli = (args: string[]) => {
    const c = testConfig();
    // Its transpiled JavaScript (the suite's global setup makes it), as `npx pnpm@10 hf-rights` runs it.
    return run(process.execPath, [...fromDist(CLI), ...args], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-rights-cli-')),
        ADMIN_API_KEY: ADMIN_KEY,
        CONSENT_SECRETS: c.secrets.consentSecrets,
        AGE_GATE_SECRETS: c.secrets.ageGateSecrets,
        VAULT_KEYS: c.secrets.vaultKeys,
        AUDIT_CHECKPOINT_KEYS: c.secrets.auditCheckpointKeys,
        DATA_RIGHTS_SIGNING_KEYS,
        DATA_RIGHTS_SUBJECT_KEY: c.secrets.dataRightsSubjectKey,
      },
      timeout: 240_000, // a hang guard
    });
  };

  it('re-applies an erasure to a restored backup, from the journal kept outside it', async () => {
    const { app } = await testApp(database);
    let accountId: string;
    let email: string;
    try {
      const { account, apiKey } = await signup(app, { name: 'Restored Person' });
      accountId = account.id;
      email = account.email;
      const auth = { authorization: `Bearer ${apiKey}` };
      for (const to of ['+254722000001', '+254722000002'])
        await app.inject({
          method: 'POST',
          url: '/v1/messages',
          headers: auth,
          payload: { sessionId: 'wa', to, text: 'x' },
        });
      await app.audit.flush();
      // The backup, taken before the deletion: a copy of every table.
      await database.db.execute(sql`create schema backup`);
      for (const { s, t } of await tables())
        await database.db.execute(sql.raw(`create table backup."${s}__${t}" as select * from "${s}"."${t}"`));

      const filed = (
        await app.inject({
          method: 'POST',
          url: '/v1/admin/privacy/requests',
          headers: { authorization: `Bearer ${ADMIN_KEY}` },
          payload: { kind: 'deletion', accountId, verification: 'signed letter' },
        })
      ).json();
      await until(async () => (await app.dataRights.get(filed.id)).status === 'fulfilled');
      await app.audit.flush();
      expect(await dump()).not.toContain(accountId);
    } finally {
      await app.close();
    }
    const journal = (await cli(['export-journal'])).stdout;
    expect(journal.trim().split('\n')).toHaveLength(1);
    const journalFile = join(mkdtempSync(join(tmpdir(), 'hf-journal-')), 'journal.ndjson');
    writeFileSync(journalFile, journal);

    // The restore: every table back as it was in the backup (the journal's table too, without the erasure).
    // As pg_restore does, without triggers or foreign-key checks while the rows go in.
    const list = await tables();
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local session_replication_role = replica`);
      for (const { s, t } of list) {
        await tx.execute(sql.raw(`delete from "${s}"."${t}"`));
        // OVERRIDING SYSTEM VALUE, as pg_dump --inserts writes it: identity columns (audit's interned ids) keep their values.
        await tx.execute(
          sql.raw(`insert into "${s}"."${t}" overriding system value select * from backup."${s}__${t}"`),
        );
      }
    });
    expect(await dump()).toContain(accountId);
    expect(await dump()).toContain(email);

    const { stdout } = await cli(['reapply-erasures', '--journal', journalFile, '--json']);
    const result = JSON.parse(stdout) as { checked: number; matched: number; erased: Record<string, number> };
    expect(result.matched).toBe(1);
    expect(result.erased.messages).toBe(2);
    const after = await dump();
    for (const needle of [accountId, email, 'Restored Person', '+254722000001'])
      expect(after, needle).not.toContain(needle);
    await database.db.execute(sql`drop schema backup cascade`);
  }, 600_000); // a hang guard: each step is a CLI process (tens of seconds on two loaded cores)

  it('lists, shows, extends and denies from the command line; usage errors exit 2', async () => {
    const { app } = await testApp(database);
    let id: string;
    try {
      const { apiKey } = await signup(app);
      id = (
        await app.inject({
          method: 'POST',
          url: '/v1/privacy/requests',
          headers: { authorization: `Bearer ${apiKey}` },
          payload: { kind: 'objection' },
        })
      ).json().id;
    } finally {
      await app.close();
    }
    const listed = JSON.parse((await cli(['list', '--kind', 'objection', '--json'])).stdout) as { id: string }[];
    expect(listed.map((r) => r.id)).toContain(id);
    expect((await cli(['list'])).stdout).toContain(id);
    expect(
      JSON.parse((await cli(['extend', id, '--days', '14', '--reason', 'volume', '--json'])).stdout).extensionReason,
    ).toBe('volume');
    expect(JSON.parse((await cli(['deny', id, '--reason', 'manifestly unfounded', '--json'])).stdout).status).toBe(
      'denied',
    );
    await expect(cli(['deny', id, '--reason', 'twice'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('HF_DATA_RIGHTS_INVALID_TRANSITION'),
    });
    await expect(cli(['frobnicate'])).rejects.toMatchObject({ code: 2 });
    await expect(cli(['show'])).rejects.toMatchObject({ code: 2 });
  }, 600_000); // a hang guard: each step is a CLI process (tens of seconds on two loaded cores)

  // Issue 30 items 7 and 10: `show` printed the live export link (and the admin's download spent
  // it); a restriction could not be lifted.
  it('shows and lists a request without its live export link, re-sends it to the person instead, and lifts a restriction', async () => {
    const { app } = await testApp(database);
    let id: string;
    let token: string;
    let restriction: string;
    try {
      const { apiKey } = await signup(app);
      const auth = { authorization: `Bearer ${apiKey}` };
      id = (
        await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: auth, payload: { kind: 'access' } })
      ).json().id;
      token = ((await app.inject({ url: `/v1/privacy/requests/${id}`, headers: auth })).json().export.url as string)
        .split('/')
        .pop()!;
      restriction = (
        await app.inject({
          method: 'POST',
          url: '/v1/privacy/requests',
          headers: auth,
          payload: { kind: 'restriction' },
        })
      ).json().id;
    } finally {
      await app.close();
    }
    const shown = (await cli(['show', id, '--json'])).stdout;
    expect(shown).not.toContain(token);
    expect(JSON.parse(shown).export).toEqual({ expiresAt: expect.any(String) });
    expect((await cli(['show', id])).stdout).not.toContain(token);
    expect((await cli(['list', '--json'])).stdout).not.toContain(token);
    const resent = (await cli(['resend-export', id, '--json'])).stdout;
    expect(resent).not.toContain(token);
    expect(JSON.parse(resent).history.at(-1)).toMatchObject({ by: 'admin', event: 'export-resent' });
    await expect(cli(['lift', restriction])).rejects.toMatchObject({ code: 2 });
    expect(
      JSON.parse((await cli(['lift', restriction, '--reason', 'settled', '--json'])).stdout).history.at(-1),
    ).toMatchObject({ by: 'admin', event: 'lifted', note: 'settled' });
    await expect(cli(['lift', restriction, '--reason', 'again'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('HF_DATA_RIGHTS_INVALID_TRANSITION'),
    });
  }, 600_000); // a hang guard: each step is a CLI process (tens of seconds on two loaded cores)
});
