// Micro-benchmark of audit ingest (goal: at least 100,000 events/s batched on the project's 2-core
// machine). Into Postgres when DATABASE_URL is set (a temporary database, dropped after), else
// in-memory PGlite. Compares, in one run: one INSERT per event; the writer's batches (UNNEST, one
// statement per batch with its checkpoint); a multi-row VALUES insert; and one JSON text per batch
// expanded by json_populate_recordset. Part of `pnpm bench`.
import { prepareKeys } from '@harakaflow/core';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { testDatabase } from '@harakaflow/testing';
import { auditEvents, auditMigrations, AuditWriter, type AuditEvent } from '../src/index.js';

// A database of its own on DATABASE_URL's server, dropped by close(); PGlite without it.
const handle = await testDatabase({ migrations: [auditMigrations], max: 4, serverUrl: process.env.DATABASE_URL?.trim() || undefined });
const url = handle.url;
const where = url ? 'Postgres' : 'PGlite (in memory; set DATABASE_URL for Postgres)';
const silent = { warn() {}, error() {} };
const keys = prepareKeys(['bench-checkpoint-key-0123456789abcdef0123']);
const input = (i: number) => ({
  kind: 'access' as const,
  action: 'http.request',
  requestId: `req-${i}`,
  method: 'GET',
  route: '/v1/things/:id',
  path: `/v1/things/${i}`,
  status: 200,
  durationMs: 1.234,
  subjectId: '6f1c2c1e-2b7c-4c55-9d1e-1f2a3b4c5d6e',
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  browserName: 'Chrome',
  browserVersion: '120.0.0.0',
  osName: 'Windows',
  osVersion: 'NT 10.0',
  deviceType: 'desktop' as const,
});
const newWriter = (batchSize: number, writer = `bench-${batchSize}-${randomBytes(3).toString('hex')}`) =>
  new AuditWriter({
    db: handle.db,
    writer,
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
  });
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const fmt = (n: number) => n.toLocaleString('en');

/** Events made by a writer that never flushes (its queue is the source of rows). */
function rows(n: number): AuditEvent[] {
  const w = newWriter(1_000_000);
  return Array.from({ length: n }, (_, i) => w.append(input(i)).event);
}

// 1. One INSERT per event.
const single = rows(url ? 3000 : 1000);
let t = performance.now();
for (const e of single) await handle.db.insert(auditEvents).values(e).onConflictDoNothing();
const perEvent = rate(single.length, performance.now() - t);

// 2. The writer, end to end: chain hashing + UNNEST batches with their checkpoint.
async function writerRun(n: number, batchSize: number): Promise<number> {
  const w = newWriter(batchSize);
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    w.append(input(i));
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r)); // let batches go out while appending
  }
  await w.flush();
  const r = rate(n, performance.now() - started);
  await w.close();
  return r;
}
const n = url ? 100_000 : 30_000;
await writerRun(10_000, 500); // warm-up
const batched: Record<number, number[]> = { 500: [], 1000: [] };
for (let round = 0; round < 3; round++) for (const size of [500, 1000]) batched[size]!.push(await writerRun(n, size));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 3. Multi-row VALUES, 1000 rows per statement (29 000 parameters).
const valuesRows = rows(n);
t = performance.now();
for (let i = 0; i < valuesRows.length; i += 1000) await handle.db.insert(auditEvents).values(valuesRows.slice(i, i + 1000)).onConflictDoNothing();
const multiValues = rate(valuesRows.length, performance.now() - t);

// 4. One JSON text parameter expanded by json_populate_recordset (each row encoded as JSON): the
// "one encoding per event" form. COPY FROM STDIN through postgres.js is not measured any more: on
// this machine each 1000-row COPY stalled about 40 ms (20,800 events/s) and an earlier run hung.
const jsonRows = rows(n);
const js = (v: unknown) => (v === null || v === undefined ? 'null' : JSON.stringify(v));
const rowJson = (e: AuditEvent) =>
  `{"id":${js(e.id)},"occurred_at":"${e.occurredAt.toISOString()}","writer":${js(e.writer)},"day":"${e.day}","seq":${e.seq},"kind":${js(e.kind)},"action":${js(e.action)},"resource":${js(e.resource)},"outcome":${js(e.outcome)},"request_id":${js(e.requestId)},"method":${js(e.method)},"route":${js(e.route)},"path":${js(e.path)},"status":${js(e.status)},"duration_ms":${js(e.durationMs)},"subject_id":${js(e.subjectId)},"ip":${js(e.ip)},"ip_invalid":${e.ipInvalid},"user_agent":${js(e.userAgent)},"browser_name":${js(e.browserName)},"browser_version":${js(e.browserVersion)},"os_name":${js(e.osName)},"os_version":${js(e.osVersion)},"device_type":${js(e.deviceType)},"details":null,"personal_salt":${js(e.personalSalt)},"personal_digest":"${e.personalDigest}","prev_hash":"${e.prevHash}","hash":"${e.hash}","chain_version":${e.chainVersion}}`;
const jsonCols = sql.raw(['id', 'occurred_at', 'writer', 'day', 'seq', 'kind', 'action', 'resource', 'outcome', 'request_id', 'method', 'route', 'path', 'status', 'duration_ms', 'subject_id', 'ip', 'ip_invalid', 'user_agent', 'browser_name', 'browser_version', 'os_name', 'os_version', 'device_type', 'details', 'personal_salt', 'personal_digest', 'prev_hash', 'hash', 'chain_version'].join(', '));
t = performance.now();
for (let i = 0; i < jsonRows.length; i += 1000) {
  const text = `[${jsonRows.slice(i, i + 1000).map(rowJson).join(',')}]`;
  await handle.db.execute(sql`insert into audit.events (${jsonCols}) select ${jsonCols} from json_populate_recordset(null::audit.events, ${text}::text::json) on conflict do nothing`);
}
const json = rate(jsonRows.length, performance.now() - t);

await handle.close();
const best = Math.max(median(batched[500]!), median(batched[1000]!));
console.log(`audit ingest into ${where}, ${fmt(n)} events per run:`);
console.log(`  one INSERT per event:                         ${fmt(perEvent)} events/s`);
console.log(`  writer, UNNEST batches of 500:                 ${fmt(median(batched[500]!))} events/s (median of 3; chain hashing included)`);
console.log(`  writer, UNNEST batches of 1000 (the default):  ${fmt(median(batched[1000]!))} events/s (median of 3)`);
console.log(`  drizzle insert().values(), 1000 rows:          ${fmt(multiValues)} events/s (rows pre-built: no hashing)`);
console.log(`  JSON text + json_populate_recordset, 1000 rows: ${fmt(json)} events/s (rows pre-built: no hashing)`);
console.log(`  batched / per-event: ${(best / perEvent).toFixed(1)}x; goal >= 100,000 events/s batched (issue 18)`);
