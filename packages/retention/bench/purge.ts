// Retention at scale (issue 16's targets), on real Postgres (DATABASE_URL or TEST_DATABASE_URL):
//
// 1. 1,000,000 expired message-log rows purged while the reference app serves GET /v1/ping at a
//    fixed offered rate (open loop, so a slow reply delays no later request): rows/s of the purge,
//    and the p99 of the pings during it against the same app quiet. Run at each end of the throttle
//    (`pauseMs` between batches): none, then a pause.
// 2. One audit day partition holding 1,000,000 events dropped (audit.drop_day_partition, the held
//    copy and the horizon included): how long the statement takes.
//
// The app runs as `start` runs it, in its own process (from source: the API depends on this package,
// so this package cannot depend on it). Writes .bench/retention.json at the repository root.
import { tableClass } from '../src/index.js';
import { RetentionRunner } from '../src/runner.js';
import { purgeServerLogs } from '@harakaflow/audit';
import { prepareKeys } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import { freePort, testDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const server = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!server) {
  console.log('retention bench: skipped (needs DATABASE_URL or TEST_DATABASE_URL: a real Postgres)');
  process.exit(0);
}
const ROWS = Number(process.env.BENCH_RETENTION_ROWS ?? 1_000_000);
const RATE = Number(process.env.BENCH_RETENTION_RATE ?? 200); // pings per second, offered
const QUIET_SECONDS = Number(process.env.BENCH_RETENTION_QUIET_SECONDS ?? 10);
const PAUSES = (process.env.BENCH_RETENTION_PAUSES ?? '0,20').split(',').map(Number);
const root = fileURLToPath(new URL('../../../', import.meta.url));

const database = await testDatabase({ serverUrl: server, max: 4 });
const db = database.db;
const port = await freePort();
const checkpointKey = randomBytes(32).toString('base64url');
const app = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(root, 'apps/api/src/server.ts')], {
  cwd: join(root, 'apps/api'),
  env: {
    ...process.env,
    DATABASE_URL: database.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-bench-retention-')),
    LOG_LEVEL: 'warn',
    RETENTION_INTERVAL_MINUTES: '0',
    QUOTA_ANON_RPM: '100000000',
    AUDIT_CHECKPOINT_KEYS: checkpointKey,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function get(path: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(`${base}${path}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end();
  });
}

async function post(path: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

for (let i = 0; ; i++) {
  if (
    await get('/health').then(
      (s) => s === 200,
      () => false,
    )
  )
    break;
  if (i > 600) throw new Error('the app did not start');
  await new Promise((r) => setTimeout(r, 100));
}

/** Pings at RATE per second until `stop()` resolves; the latency of each, ms. Open loop: sent on schedule whatever the replies do. */
function pinger() {
  const latencies: number[] = [];
  let failures = 0;
  let running = true;
  const inFlight = new Set<Promise<void>>();
  const interval = 1000 / RATE;
  const started = performance.now();
  let sent = 0;
  const loop = (async () => {
    while (running) {
      const due = started + sent * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      sent++;
      const p: Promise<void> = get('/v1/ping')
        .then(
          (status) => {
            if (status === 200) latencies.push(performance.now() - t);
            else failures++;
          },
          () => void failures++,
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      latencies.sort((a, b) => a - b);
      const q = (f: number) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? NaN;
      return { requests: latencies.length, failures, p50: q(0.5), p99: q(0.99) };
    },
  };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const signup = await post('/v1/accounts', {
  name: 'Bench Owner',
  email: `bench.${Date.now()}@example.com`,
  businessName: 'Bench Ltd',
  dateOfBirth: '1990-01-01',
});
if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`);
const accountId = (signup.json.account as { id: string }).id;

const messageLog = pgSchema('app').table('message_log', {
  id: uuid('id'),
  accountId: uuid('account_id'),
  sessionId: text('session_id'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }),
});
async function seedLogs(n: number) {
  await db.execute(sql`truncate app.message_log`);
  for (let done = 0; done < n; done += 200_000) {
    const k = Math.min(200_000, n - done);
    await db.execute(sql`insert into app.message_log (id, account_id, session_id, "to", chars, created_at)
      select gen_random_uuid(), ${accountId}::uuid, 'wa-1', '+254711000001', 5, now() - interval '120 days' - make_interval(secs => g) from generate_series(1, ${k}) g`);
  }
  // 50,000 rows inside the period, which stay.
  await db.execute(sql`insert into app.message_log (id, account_id, session_id, "to", chars, created_at)
    select gen_random_uuid(), ${accountId}::uuid, 'wa-1', '+254711000001', 5, now() - make_interval(secs => g) from generate_series(1, 50000) g`);
  await db.execute(sql`vacuum analyze app.message_log`);
}

async function quiet() {
  const p = pinger();
  await new Promise((r) => setTimeout(r, QUIET_SECONDS * 1000));
  return p.stop();
}

const results: Record<string, unknown>[] = [];
const purger = (pauseMs: number) =>
  new RetentionRunner({
    db,
    classes: () => [
      tableClass({
        db,
        name: 'message_logs',
        policyClause: '§4 (bench)',
        periodDays: 90,
        table: messageLog,
        key: messageLog.id,
        time: messageLog.createdAt,
        subject: messageLog.accountId,
      }),
    ],
    heldSubjects: async () => [],
    record: async () => {},
    batchSize: 5000,
    pauseMs,
  });
// Warm-up: the app's first requests compile, the pools fill, the purge's statements are planned once.
await quiet();
await seedLogs(100_000);
await purger(0).run();
for (const pauseMs of PAUSES) {
  await seedLogs(ROWS);
  const calm = await quiet();
  const runner = purger(pauseMs);
  const p = pinger();
  const t = performance.now();
  const run = await runner.run();
  const seconds = (performance.now() - t) / 1000;
  const busy = await p.stop();
  const removed = run.classes[0]?.rows ?? 0;
  if (removed !== ROWS) throw new Error(`expected ${ROWS} rows purged, got ${removed}`);
  results.push({
    pauseMs,
    rows: removed,
    seconds: round(seconds),
    rowsPerSecond: Math.round(removed / seconds),
    quiet: { p50: round(calm.p50), p99: round(calm.p99) },
    purging: { p50: round(busy.p50), p99: round(busy.p99), requests: busy.requests, failures: busy.failures },
    p99Ratio: round(busy.p99 / calm.p99),
  });
  console.log(
    `retention: pause ${pauseMs} ms: ${removed} rows in ${round(seconds)} s (${Math.round(removed / seconds)} rows/s); ping p99 ${round(busy.p99)} ms purging vs ${round(calm.p99)} ms quiet (${round(busy.p99 / calm.p99)}×)`,
  );
}

// One audit day partition of 1,000,000 events, 120 days back, dropped whole.
const day = new Date(Date.now() - 120 * 86_400_000).toISOString().slice(0, 10);
await db.execute(sql`select audit.ensure_day_partitions(${day}::date, ${day}::date)`);
for (let done = 0; done < ROWS; done += 200_000) {
  const k = Math.min(200_000, ROWS - done);
  await db.execute(sql`insert into audit.events (id, occurred_at, writer, day, seq, kind, action, subject_id, personal_digest, prev_hash, hash)
    select gen_random_uuid(), ${day}::date + make_interval(secs => g / 20.0), 'bench', ${day}::date, ${done} + g, 'access', 'http.request', case when g % 1000 = 0 then 'held-subject' end, 'd', 'p', 'h'
    from generate_series(1, ${k}) g`);
}
await db.execute(sql`analyze audit.events`);
const beforeDay = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
// The database functions read the legal holds themselves (issue 30 item 1): one on the held subject.
await db.execute(sql`insert into retention.holds (id, subject_id, reason, created_by, created_at)
  values ('00000000-0000-4000-8000-00000000b0b0', 'held-subject', 'bench', 'bench', now()) on conflict (id) do nothing`);
const t = performance.now();
const step = await purgeServerLogs({
  db,
  checkpointKeys: prepareKeys([checkpointKey]),
  beforeDay,
  limit: 5000,
  dryRun: false,
});
const dropMs = performance.now() - t;
const held = Number(
  resultRows<{ n: string }>(await db.execute(sql`select count(*)::text as n from audit.held_events`))[0]!.n,
);
console.log(
  `retention: drop of one audit day partition with ${step.rows} events (${held} held copies made first): ${round(dropMs)} ms`,
);

const report = {
  date: new Date().toISOString(),
  node: process.version,
  rows: ROWS,
  offeredPingsPerSecond: RATE,
  messageLogs: results,
  auditDayDrop: { events: step.rows, heldCopies: held, ms: round(dropMs) },
};
mkdirSync(`${root}.bench`, { recursive: true });
writeFileSync(`${root}.bench/retention.json`, JSON.stringify(report, null, 2) + '\n');
app.kill('SIGTERM');
await new Promise((r) => app.once('exit', r));
agent.destroy();
await database.close();
