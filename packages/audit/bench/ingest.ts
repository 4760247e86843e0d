// Micro-benchmark of audit ingest (issue 29 goal: at least 150,000 access events/s into local
// Postgres on the project's 2-core machine; stored bytes per access event at most half of format
// 2's). Into Postgres when DATABASE_URL is set (temporary databases, dropped after), else
// in-memory PGlite. Compares, in one run:
//   - one INSERT per event (format 2);
//   - the writer end to end (chaining included): format 2 by UNNEST; format 3 by binary COPY (the
//     default on Postgres) and by UNNEST;
//   - format-3 batches alone (rows chained beforehand): COPY straight into the table (a batch's
//     first attempt) against COPY into a staging table + INSERT ... ON CONFLICT (a retry, a replay);
//   - stored bytes per access event, format 2 against 3 (pg_total_relation_size of the table and
//     its indexes, every partition, over the row count), with and without a subject.
// Part of `pnpm bench`.
import { prepareKeys } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { BatchWriter } from '../src/batches.js';
import { Chain } from '../src/chain.js';
import type { Event3 } from '../src/format3.js';
import { auditMigrations, AuditWriter, type AuditEventInput, type ChainVersion } from '../src/index.js';
import { auditEvents } from '../src/internals.js';

// BENCH_NODELAY=1: TCP_NODELAY on every socket this process opens, as postgres.js 4 sets it (3.4
// does not): without it, the 5-byte CopyDone that ends a COPY waits for the server's delayed ACK
// (Nagle), 40 to 90 ms per batch on Linux. A measurement aid only: the package does not do this.
if (process.env.BENCH_NODELAY === '1') {
  const connect = Socket.prototype.connect;
  Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    this.setNoDelay(true);
    return (connect as (...a: unknown[]) => Socket).apply(this, args);
  } as typeof connect;
}

const server = process.env.DATABASE_URL?.trim() || undefined;
const where = server ? 'Postgres' : 'PGlite (in memory; set DATABASE_URL for Postgres)';
const fresh = () => testDatabase({ migrations: [auditMigrations], max: 4, serverUrl: server });
const silent = { warn() {}, error() {} };
const keys = prepareKeys(['bench-checkpoint-key-0123456789abcdef0123']);
const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
/** An access event as the plugin makes one (format 2 also gets the parsed device; format 3 parses once per user agent). */
const input = (i: number, version: ChainVersion, subject = true): AuditEventInput => ({
  kind: 'access',
  action: 'http.request',
  requestId: `req-${i.toString(36)}`,
  method: 'GET',
  route: '/v1/things/:id',
  path: `/v1/things/${i}`,
  status: 200,
  durationMs: 1.234,
  subjectId: subject ? '6f1c2c1e-2b7c-4c55-9d1e-1f2a3b4c5d6e' : null,
  ip: '203.0.113.7',
  ipInvalid: false,
  userAgent: UA,
  ...(version === 3
    ? {}
    : {
        browserName: 'Chrome',
        browserVersion: '120.0.0.0',
        osName: 'Windows',
        osVersion: 'NT 10.0',
        deviceType: 'desktop' as const,
      }),
});
/** A writer name of the plugin's default form, `<hostname>-<pid>-<random>`. */
const writerName = () => `api-7f9c8d6b5-x2kqz-${process.pid}-${randomBytes(4).toString('hex')}`;
const newWriter = (db: TestDatabase, version: ChainVersion, batchSize: number, copy = true) =>
  new AuditWriter({
    db: db.db,
    writer: writerName(),
    checkpointKeys: keys,
    batchSize,
    flushIntervalMs: 1,
    maxBuffered: 1_000_000,
    spillDir: null,
    retryBaseMs: 10,
    retryMaxMs: 100,
    writeTimeoutMs: 60_000,
    staleAfterMs: 600_000,
    logger: silent,
    chainVersion: version,
    copy,
  });
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const fmt = (n: number) => n.toLocaleString('en');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const db = await fresh();
const n = server ? 100_000 : 30_000;

// 1. One INSERT per event (format 2, rows chained beforehand).
const chain2 = new Chain(writerName(), 2);
const single = Array.from({ length: server ? 3000 : 1000 }, (_, i) => chain2.next(input(i, 2), Date.now()).event);
const t = performance.now();
for (const e of single)
  await db.db
    .insert(auditEvents)
    .values(e as never)
    .onConflictDoNothing();
const perEvent = rate(single.length, performance.now() - t);

// 2. The writer end to end: chain hashing + batches with their checkpoint.
async function writerRun(version: ChainVersion, count: number, batchSize: number, copy = true): Promise<number> {
  const w = newWriter(db, version, batchSize, copy);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    w.appendAccess(input(i, version));
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r)); // let batches go out while appending
  }
  await w.flush();
  const r = rate(count, performance.now() - started);
  await w.close();
  return r;
}
const forms = [
  ['format 2, UNNEST batches of 1000 (the default format)', 2, true],
  ['format 3, binary COPY batches of 1000', 3, true],
  ['format 3, UNNEST batches of 1000', 3, false],
] as const;
for (const [, version, copy] of forms) await writerRun(version, 10_000, 1000, copy); // warm-up
const runs = new Map<string, number[]>(forms.map(([name]) => [name, []]));
for (let round = 0; round < 3; round++)
  for (const [name, version, copy] of forms) runs.get(name)!.push(await writerRun(version, n, 1000, copy));

// 3. Format-3 batches alone: the first attempt's COPY against a retry's staging table.
async function batchesRun(idempotent: boolean): Promise<number> {
  const chain = new Chain(writerName(), 3);
  const ms = Date.now();
  const events = Array.from({ length: n }, (_, i) => chain.next(input(i, 3), ms).event as Event3);
  const batches = new BatchWriter(
    { db: db.db, checkpointKeys: keys, writeTimeoutMs: 60_000 },
    { written: 0, batches: 0 },
  );
  const started = performance.now();
  for (let i = 0; i < events.length; i += 1000) await batches.write(events.slice(i, i + 1000), idempotent);
  return rate(n, performance.now() - started);
}
const direct: number[] = [];
const staged: number[] = [];
if (server) {
  for (let round = 0; round < 3; round++) {
    direct.push(await batchesRun(false));
    staged.push(await batchesRun(true));
  }
}
await db.close();

// 4. Stored bytes per access event: 100,000 of each format, each in a database of its own.
async function bytesPerEvent(version: ChainVersion, subject: boolean): Promise<number> {
  const own = await fresh();
  try {
    const w = newWriter(own, version, 1000);
    for (let i = 0; i < 100_000; i++) {
      w.appendAccess(input(i, version, subject));
      if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
    }
    await w.close();
    await own.db.execute(sql`vacuum analyze audit.events`);
    const [row] = resultRows<{ bytes: string; n: string }>(
      await own.db.execute(
        sql`select (select sum(pg_total_relation_size(relid)) from pg_partition_tree('audit.events'))::text as bytes, (select count(*) from audit.events)::text as n`,
      ),
    );
    return Number(row!.bytes) / Number(row!.n);
  } finally {
    await own.close();
  }
}
const bytes =
  server && process.env.BENCH_BYTES !== '0'
    ? {
        v2: await bytesPerEvent(2, true),
        v3: await bytesPerEvent(3, true),
        v2anon: await bytesPerEvent(2, false),
        v3anon: await bytesPerEvent(3, false),
      }
    : null;

console.log(
  `audit ingest into ${where}, ${fmt(n)} access events per run (median of 3)${process.env.BENCH_NODELAY === '1' ? ', TCP_NODELAY' : ''}:`,
);
console.log(`  one INSERT per event (format 2):                 ${fmt(perEvent)} events/s`);
for (const [name] of forms)
  console.log(`  writer, ${name.padEnd(52)} ${fmt(median(runs.get(name)!))} events/s (chaining included)`);
if (server) {
  console.log(`  format-3 batches alone, COPY into audit.events (a first attempt):   ${fmt(median(direct))} events/s`);
  console.log(
    `  format-3 batches alone, COPY into a staging table + INSERT ... ON CONFLICT (a retry, a replay): ${fmt(median(staged))} events/s`,
  );
}
if (bytes) {
  const f = (x: number) => x.toFixed(0);
  console.log(
    `  stored bytes per access event (table + indexes / rows), with a subject: format 2 ${f(bytes.v2)}, format 3 ${f(bytes.v3)} (${(bytes.v3 / bytes.v2).toFixed(2)}x)`,
  );
  console.log(
    `  stored bytes per access event, anonymous:                           format 2 ${f(bytes.v2anon)}, format 3 ${f(bytes.v3anon)} (${(bytes.v3anon / bytes.v2anon).toFixed(2)}x)`,
  );
}
console.log('  goals (issue 29): >= 150,000 events/s into Postgres; format 3 at most half the bytes of format 2');
