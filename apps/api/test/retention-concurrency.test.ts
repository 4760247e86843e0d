// Issue 16 on real Postgres: two replicas' runners beside their audit writers never purge twice
// and never deadlock (audit day drops included); a run killed with SIGKILL mid-class is resumed by
// the next one, which finishes it, counting on from where it stopped.
import { AuditWriter } from '@harakaflow/audit';
import { prepareKeys } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import { captureLogs, fromDist, postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildApp } from '../src/index.js';
import { signup, testApp, testConfig } from './helpers.js';

const DAY = 86_400_000;
let database: TestDatabase;
beforeAll(async () => {
  if (postgresUrl) database = await testDatabase();
});
afterAll(() => database?.close());

const rows = async <T = Record<string, unknown>>(query: ReturnType<typeof sql>) =>
  resultRows<T>(await database.db.execute(query));
const count = async (query: ReturnType<typeof sql>) => Number((await rows<{ n: string }>(query))[0]!.n);

/** Expired message logs of one account, `daysAgo` days old, inserted in one statement. */
async function expiredLogs(accountId: string, n: number, daysAgo = 120) {
  await database.db.execute(sql`insert into app.message_log (id, account_id, session_id, "to", chars, created_at)
    select gen_random_uuid(), ${accountId}::uuid, 'wa-1', '+254711000001', 5, now() - make_interval(days => ${daysAgo}) from generate_series(1, ${n})`);
}

describe.skipIf(!postgresUrl)('retention on real Postgres', () => {
  it('two runners beside two serving replicas: every row and day goes once, no deadlock, the chains intact', async () => {
    const { app: a } = await testApp(database, { retentionBatchSize: 500 });
    onTestFinished(() => a.close());
    const b = await buildApp(testConfig({ databaseUrl: database.url, retentionBatchSize: 500 }), {
      logStream: captureLogs().stream,
    });
    onTestFinished(() => b.close());
    await b.ready();
    const account = (await signup(a)).account;
    await expiredLogs(account.id, 3000);
    // Four days of audit events 100 days back, by a writer with the app's checkpoint key.
    const start = Date.now() - 100 * DAY;
    let now = start;
    const seed = new AuditWriter({
      db: database.db,
      writer: 'seed',
      checkpointKeys: prepareKeys(testConfig().secrets.auditCheckpointKeys.split(',')),
      batchSize: 500,
      flushIntervalMs: 5,
      maxBuffered: 10_000,
      spillDir: null,
      retryBaseMs: 5,
      retryMaxMs: 50,
      writeTimeoutMs: 10_000,
      staleAfterMs: 60_000,
      logger: { warn: () => {}, error: () => {} },
      now: () => new Date(now),
    });
    for (let d = 0; d < 4; d++) {
      for (let i = 0; i < 300; i++) seed.append({ kind: 'security', action: 'test.seeded', subjectId: account.id });
      now += DAY;
    }
    await seed.close();
    const oldDays = await count(
      sql`select count(distinct day)::text as n from audit.events where day < (now() at time zone 'utc')::date - 90`,
    );
    expect(oldDays).toBe(4);

    // Both replicas serve (each request an access event, batched by their writers) while both run.
    let serving = true;
    const load = (async () => {
      let served = 0;
      while (serving) {
        const replies = await Promise.all([a.inject({ url: '/v1/ping' }), b.inject({ url: '/v1/ping' })]);
        for (const r of replies) expect(r.statusCode).toBe(200);
        served += 2;
        // A turn of the event loop: an injected request that waits on no I/O (quotas are counted in
        // memory and written behind) would otherwise keep the runners' queries from ever running.
        await new Promise((r) => setImmediate(r));
      }
      return served;
    })();
    const results: Awaited<ReturnType<typeof a.retention.runner.run>>[] = [];
    for (let round = 0; round < 3; round++)
      results.push(...(await Promise.all([a.retention.runner.run(), b.retention.runner.run()])));
    serving = false;
    expect(await load).toBeGreaterThan(0);

    expect(results.map((r) => r.status)).not.toContain('failed');
    const sum = (name: string, field: 'rows' | 'partitions') =>
      results
        .flatMap((r) => r.classes)
        .filter((c) => c.name === name)
        .reduce((t, c) => t + c[field], 0);
    expect(sum('message_logs', 'rows')).toBe(3000);
    expect(sum('server_logs', 'partitions')).toBeGreaterThanOrEqual(4);
    expect(sum('server_logs', 'rows')).toBe(1200);
    expect(await count(sql`select count(*)::text as n from app.message_log`)).toBe(0);
    expect(
      await count(sql`select count(*)::text as n from audit.events where day < (now() at time zone 'utc')::date - 90`),
    ).toBe(0);
    await a.audit.flush();
    await b.audit.flush();
    const verified = await a.audit.verify();
    expect(verified.problems).toEqual([]);
    expect(verified.anchor).toMatchObject({ kind: 'horizon', writers: [expect.objectContaining({ writer: 'seed' })] });
    // One proof per class that removed something: no purge ran twice.
    const proofs = await rows<{ cls: string; n: string }>(
      sql`select details->>'class' as cls, count(*)::text as n from audit.events where action = 'retention.purged' and (details->>'rows')::int > 0 group by 1`,
    );
    expect(Object.fromEntries(proofs.map((p) => [p.cls, Number(p.n)]))).toMatchObject({
      message_logs: 1,
      server_logs: 1,
    });
  });

  it('a run killed with SIGKILL mid-class is resumed by the next run, which finishes it', async () => {
    const since = new Date().toISOString();
    const { app } = await testApp(database);
    const account = (await signup(app)).account;
    await app.close();
    await database.db.execute(sql`delete from app.message_log`);
    await expiredLogs(account.id, 20_000);
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const env = {
      ...process.env,
      DATABASE_URL: database.url,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-ret-kill-')),
      LOG_LEVEL: 'error',
      RETENTION_BATCH_SIZE: '200',
    };
    const args = [...fromDist(join(root, 'apps/api/src/cli/retention.ts')), 'run', '--class', 'message_logs', '--json'];

    const child = spawn(process.execPath, args, {
      env: { ...env, RETENTION_BATCH_PAUSE_MS: '50' },
      cwd: join(root, 'apps/api'),
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
    // Killed once a few batches are in (and saved), well before the class is done.
    for (const started = Date.now(); ;) {
      const [progress] = await rows<{ n: number }>(
        sql`select rows as n from retention.class_runs where class = 'message_logs' and status = 'running'`,
      );
      if (progress && progress.n >= 600) break;
      if (Date.now() - started > 120_000) throw new Error('the run never got going');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const leftAfterKill = await count(sql`select count(*)::text as n from app.message_log`);
    expect(leftAfterKill).toBeGreaterThan(0);
    expect(leftAfterKill).toBeLessThan(20_000);
    expect(await rows(sql`select status from retention.runs where started_at >= ${since}::timestamptz`)).toEqual([
      { status: 'running' },
    ]);

    // The killed runner's lease would run out in two minutes: end it now, as time would.
    await database.db.execute(sql`update retention.lease set until = now() - interval '1 second'`);
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        args,
        { env, cwd: join(root, 'apps/api'), encoding: 'utf8' },
        (error, stdout, stderr) =>
          done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).toBe(0);
    const [resumed] = JSON.parse(out.stdout).classes;
    expect(resumed).toMatchObject({ name: 'message_logs', status: 'done' });
    // Counted on from the killed run's last saved batch: a batch committed after it and before the
    // kill is the only thing the count can miss.
    expect(resumed.rows).toBeGreaterThanOrEqual(20_000 - 200);
    expect(resumed.rows).toBeLessThanOrEqual(20_000);
    expect(await count(sql`select count(*)::text as n from app.message_log`)).toBe(0);
    // The same run, resumed and finished: one run in the history.
    expect(await rows(sql`select status from retention.runs where started_at >= ${since}::timestamptz`)).toEqual([
      { status: 'done' },
    ]);
  });
});
