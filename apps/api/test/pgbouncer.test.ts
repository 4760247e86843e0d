// Issue 28 item 3: the app behind PgBouncer in transaction mode (DATABASE_POOLER=transaction), with a
// pool small enough (default_pool_size 4) that two replicas' 20 client connections share a few
// server connections, so consecutive transactions of one client run on different servers. The flows
// that coordinate through Postgres run through it: signup and key auth, messages with
// Idempotency-Key, audit batches and checkpoints, webhook and notify outbox claims (FOR UPDATE SKIP
// LOCKED), the retention lease, data-rights export and erasure, and hf-audit. One replica migrates
// through MIGRATION_DATABASE_URL straight to Postgres, the other through PgBouncer itself (allowed:
// one transaction under a transaction-scoped advisory lock).
//
// The regression: without the setting, postgres.js 3.4 (this app's driver) sends every transaction's
// `commit` as a named prepared statement; when a transaction runs on another server than the one
// that prepared it, the statement is missing there, the error aborts the transaction, postgres.js
// retries the commit, and Postgres answers an aborted transaction's COMMIT with ROLLBACK, which
// postgres.js 3.4 takes for success: the request answers 2xx and its writes are gone. Named
// statements in general: packages/db/test/pooler.test.ts (postgres.js 3 and 4).
import { APP_MIGRATIONS, parseConfig } from '@harakaflow/api';
import { createDatabase, resultRows, type Database } from '@harakaflow/db';
import {
  backendPid,
  captureLogs,
  fromDist,
  holdServer,
  pgbouncerAvailable,
  postgresUrl,
  redisUrl,
  startSmtp,
  testDatabase,
  testPgbouncer,
  until,
  type TestDatabase,
  type TestPgbouncer,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { ADMIN_KEY, signup, startReceiver, testConfig, verifyByMail } from './helpers.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('DATABASE_POOLER', () => {
  const db = { NODE_ENV: 'test', DATABASE_URL: 'postgres://app@pooler:6432/harakaflow' };
  it('is none (the default), session or transaction', () => {
    expect(parseConfig(db).databasePooler).toBe('none');
    for (const v of ['none', 'session', 'transaction'] as const)
      expect(parseConfig({ ...db, DATABASE_POOLER: v }).databasePooler).toBe(v);
  });
  it('refuses statement pooling with its reason, any other value, and a pooler without DATABASE_URL, naming the variable', () => {
    expect(() => parseConfig({ ...db, DATABASE_POOLER: 'statement' })).toThrow(
      /DATABASE_POOLER must not be statement: .*transactions of several statements/,
    );
    expect(() => parseConfig({ ...db, DATABASE_POOLER: 'pgbouncer' })).toThrow(
      /DATABASE_POOLER must be none, session or transaction \(got "pgbouncer"\)/,
    );
    expect(() => parseConfig({ NODE_ENV: 'test', DATABASE_POOLER: 'transaction' })).toThrow(
      /DATABASE_POOLER needs DATABASE_URL/,
    );
  });
});

// Without PgBouncer: skipped, or (REQUIRE_SERVICES=1) failed by testPgbouncer.
describe.skipIf(!postgresUrl || !pgbouncerAvailable)('the app behind PgBouncer in transaction mode', () => {
  let database: TestDatabase;
  let bouncer: TestPgbouncer;
  let url: string;
  let a: FastifyInstance;
  let b: FastifyInstance;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const logs = captureLogs();
  const rows = async <T = Record<string, unknown>>(query: ReturnType<typeof sql>) =>
    resultRows<T>(await database.db.execute(query));

  beforeAll(async () => {
    database = await testDatabase();
    bouncer = await testPgbouncer({ serverUrl: database.url! });
    url = bouncer.through(database.url!);
    [smtp, receiver] = await Promise.all([startSmtp(), startReceiver(200)]);
    // Key resolutions not cached: a key erased on one replica is refused at once by the other.
    // Quotas in Redis when there is one, as the README advises behind a pooler: the Postgres store's
    // 50 ms budget is not what this file tests, and a loaded machine's event loop alone can miss it.
    const replica = (migrationDatabaseUrl: string | undefined) =>
      buildApp(
        testConfig({
          databaseUrl: url,
          databasePooler: 'transaction',
          migrationDatabaseUrl,
          smtpUrl: smtp.url,
          authCacheMs: 0,
          redisUrl,
        }),
        { logStream: logs.stream },
      );
    [a, b] = await Promise.all([replica(database.url), replica(undefined)]);
    await Promise.all([a.ready(), b.ready()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await smtp?.close();
    receiver?.close();
    await bouncer?.close();
    await database?.close();
  });

  /**
   * Two transactions of one client connection (configured from `env` as the app is) inserting into
   * `table`, the second run on another server than the first (whose server another pool holds).
   * Resolves with the rows the server has afterwards.
   */
  async function commitElsewhere(env: Record<string, string>, table: string): Promise<number[]> {
    const { databasePooler } = parseConfig({ NODE_ENV: 'test', DATABASE_URL: url, ...env });
    await database.db.execute(sql.raw(`drop table if exists ${table}; create table ${table} (n int not null)`));
    const client = await createDatabase({ url, max: 1, pooler: databasePooler });
    const holder = await createDatabase({ url, max: bouncer.poolSize, pooler: 'transaction' });
    try {
      const write = (n: number) =>
        client.db.transaction(
          async (tx) => (
            await tx.execute(sql.raw(`insert into ${table} values (${n})`)),
            backendPid(tx as unknown as Database)
          ),
        );
      const first = await write(1);
      const release = await holdServer(holder.db, first, bouncer.poolSize - 1);
      try {
        expect(await write(2)).not.toBe(first); // reported committed, on another server
      } finally {
        await release();
      }
      return (await rows<{ n: number }>(sql.raw(`select n from ${table} order by n`))).map((r) => r.n);
    } finally {
      await Promise.all([client.close(), holder.close()]);
    }
  }

  it('without DATABASE_POOLER (before issue 28): a transaction reported committed on another server is rolled back', async () => {
    expect(await commitElsewhere({}, 'probe_unset')).toEqual([1]);
  });

  it('with DATABASE_POOLER=transaction the same transactions keep their rows', async () => {
    expect(await commitElsewhere({ DATABASE_POOLER: 'transaction' }, 'probe_transaction')).toEqual([1, 2]);
  });

  it('both replicas started together, one migrating straight to Postgres, the other through PgBouncer: each migration applied once', async () => {
    // DATABASE_POOLER reached the app's own pool (the transactions above are what it prevents).
    for (const app of [a, b])
      expect(
        (app.database.db as unknown as { $client: { options: { prepare: boolean } } }).$client.options.prepare,
      ).toBe(false);
    for (const set of APP_MIGRATIONS) {
      const journal = JSON.parse(readFileSync(join(set.folder, 'meta', '_journal.json'), 'utf8')) as {
        entries: unknown[];
      };
      const applied = await rows<{ n: number }>(
        sql.raw(`select count(*)::int as n from drizzle."__drizzle_migrations_${set.name}"`),
      );
      expect(applied, set.name).toEqual([{ n: journal.entries.length }]);
    }
  });

  it('signs up on one replica and authenticates its key on the other; the clients share at most default_pool_size servers', async () => {
    const { account, apiKey } = await signup(a);
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).inject({ url: '/v1/me', headers: bearer(apiKey) })),
    );
    for (const reply of replies) expect(reply.json()).toMatchObject({ account: { id: account.id } });
    const name = new URL(url).pathname.slice(1);
    await until(async () => (await bouncer.pool(name)).clients > bouncer.poolSize);
    expect((await bouncer.pool(name)).servers).toBeLessThanOrEqual(bouncer.poolSize);
    // The burst's tail (audit batches, quota writes) drained: the quota store gives up after 50 ms,
    // and a message send refuses to run without it (apps/api/README.md, "PgBouncer and other poolers").
    await until(async () => (await bouncer.pool(name)).waiting === 0);
  });

  it('carries out a send whose Idempotency-Key reaches both replicas at once only once', async () => {
    const { account, apiKey } = await signup(b);
    const send = (app: FastifyInstance) =>
      app.inject({
        method: 'POST',
        url: '/v1/messages',
        headers: { ...bearer(apiKey), 'idempotency-key': 'order-1' },
        payload: { sessionId: 'wa-1', to: '+254711000001', text: 'once' },
      });
    const both = await Promise.all([send(a), send(b)]);
    for (const reply of both) expect([202, 409]).toContain(reply.statusCode);
    const first = both.find((r) => r.statusCode === 202)!.json().messageId;
    for (const app of [a, b]) {
      const again = await send(app);
      expect(again.statusCode).toBe(202);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().messageId).toBe(first);
    }
    expect(await rows(sql`select id from app.message_log where account_id = ${account.id}`)).toEqual([{ id: first }]);
  });

  it('delivers each webhook once while both replicas claim from one outbox', async () => {
    const { apiKey } = await signup(a);
    const hook = `${receiver.url}?pgbouncer-${Date.now()}`;
    expect(
      (
        await a.inject({
          method: 'POST',
          url: '/v1/webhooks/endpoints',
          headers: bearer(apiKey),
          payload: { url: hook, events: ['message.accepted'] },
        })
      ).statusCode,
    ).toBe(201);
    // One after another: a send's day limit is counted exactly, in the store, or refused (see above).
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      const reply = await (i % 2 ? a : b).inject({
        method: 'POST',
        url: '/v1/messages',
        headers: bearer(apiKey),
        payload: { sessionId: 'wa-1', to: '+254711000002', text: `n${i}` },
      });
      expect(reply.statusCode).toBe(202);
      sent.push(reply.json().messageId as string);
    }
    const ours = () => receiver.received.filter((r) => sent.some((id) => r.body.includes(id)));
    await until(
      async () => (await Promise.all([a.webhooks.dispatch(), b.webhooks.dispatch()]), ours().length >= sent.length),
    );
    await Promise.all([a.webhooks.dispatch(), b.webhooks.dispatch()]);
    expect(ours()).toHaveLength(sent.length);
    expect(new Set(ours().map((r) => JSON.parse(r.body).data.messageId)).size).toBe(sent.length);
  });

  it("exports once across replicas and erases an account, each request's emails sent once from the shared outbox", async () => {
    const people = [await signup(a), await signup(b), await signup(a)];
    // Request updates go to verified addresses (issue 30 item 6).
    for (const [i, p] of people.entries()) await verifyByMail(i % 2 ? b : a, smtp, p.account, p.apiKey);
    const filed = await Promise.all(
      people.map(({ apiKey }, i) =>
        (i % 2 ? b : a).inject({
          method: 'POST',
          url: '/v1/privacy/requests',
          headers: bearer(apiKey),
          payload: { kind: 'access' },
        }),
      ),
    );
    for (const reply of filed) expect(reply.json().status).toBe('fulfilled');
    const link = (
      await b.inject({ url: `/v1/privacy/requests/${filed[0]!.json().id}`, headers: bearer(people[0]!.apiKey) })
    ).json().export.url as string;
    expect(
      (await b.inject({ method: 'POST', url: link, headers: { accept: 'application/json' } })).json().parts.app,
    ).toBeDefined();
    expect((await a.inject({ method: 'POST', url: link })).statusCode).toBe(410);

    // Received and ready, for each of the three: six emails, none twice, while both replicas send.
    const emails = () =>
      smtp.received.filter(
        (m) =>
          m.headers['x-harakaflow-notification'] === 'privacy.request.updated' &&
          people.some((p) => m.to.includes(p.account.email)),
      );
    await until(async () => (await Promise.all([a.notify.dispatch(), b.notify.dispatch()]), emails().length >= 6));
    await Promise.all([a.notify.dispatch(), b.notify.dispatch()]);
    expect(emails()).toHaveLength(6);
    expect(new Set(emails().map((m) => m.headers['message-id'])).size).toBe(6);

    const [gone] = people;
    const deletion = await a.inject({
      method: 'POST',
      url: '/v1/privacy/requests',
      headers: bearer(gone!.apiKey),
      payload: { kind: 'deletion' },
    });
    expect(deletion.statusCode).toBe(202);
    const id = deletion.json().id as string;
    await until(async () =>
      (await b.inject({ url: '/v1/admin/privacy/requests?kind=deletion&limit=200', headers: bearer(ADMIN_KEY) }))
        .json()
        .requests.some((r: { id: string; status: string }) => r.id === id && r.status === 'fulfilled'),
    );
    for (const app of [a, b])
      expect((await app.inject({ url: '/v1/me', headers: bearer(gone!.apiKey) })).statusCode).toBe(401);
    expect(await rows(sql`select id from app.accounts where id = ${gone!.account.id}`)).toEqual([]);
  });

  it('lets one replica at a time hold the retention lease: every expired row goes once', async () => {
    const { account } = await signup(b);
    await database.db.execute(sql`insert into app.message_log (id, account_id, session_id, "to", chars, created_at)
      select gen_random_uuid(), ${account.id}::uuid, 'wa-1', '+254711000003', 5, now() - interval '120 days' from generate_series(1, 1500)`);
    const results = [];
    for (let round = 0; round < 2; round++)
      results.push(...(await Promise.all([a.retention.runner.run(), b.retention.runner.run()])));
    expect(results.map((r) => r.status)).not.toContain('failed');
    const purged = results
      .flatMap((r) => r.classes)
      .filter((c) => c.name === 'message_logs')
      .reduce((t, c) => t + c.rows, 0);
    expect(purged).toBe(1500);
    expect(await rows(sql`select count(*)::int as n from app.message_log where account_id = ${account.id}`)).toEqual([
      { n: 0 },
    ]);
  });

  it('writes audit batches and checkpoints from both replicas; the chain verifies, and so does hf-audit through PgBouncer', async () => {
    const { apiKey } = await signup(a);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).inject({ url: '/v1/usage', headers: bearer(apiKey) })),
    );
    await Promise.all([a.audit.flush(), b.audit.flush()]);
    const [checkpoints] = await rows<{ writers: number }>(
      sql`select count(distinct writer)::int as writers from audit.checkpoints`,
    );
    expect(checkpoints!.writers).toBeGreaterThanOrEqual(2);
    expect((await b.audit.verify()).ok).toBe(true);

    const run = promisify(execFile);
    const cli = (pooler: string) =>
      run(process.execPath, [...fromDist(join(root, 'packages/audit/src/cli.ts')), 'verify'], {
        cwd: join(root, 'apps/api'),
        env: {
          ...process.env,
          DATABASE_URL: url,
          DATABASE_POOLER: pooler,
          AUDIT_CHECKPOINT_KEYS: testConfig().secrets.auditCheckpointKeys,
        },
      });
    const [verified, refused] = await Promise.allSettled([cli('transaction'), cli('statement')]);
    expect(verified.status === 'fulfilled' && verified.value.stdout).toContain('audit chain intact');
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: { code: 2, stderr: expect.stringContaining('DATABASE_POOLER must be none, session, transaction') },
    });
  });
});
