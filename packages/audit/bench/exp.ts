import { createDatabase, migrate } from '@harakaflow/db';
import { prepareKeys } from '@harakaflow/core';
import { sql } from 'drizzle-orm';
import { auditMigrations, AuditWriter, writeBatch, canonicalJson, type AuditEvent } from '/work/main/packages/audit/src/index.js';
import postgres from 'postgres';
const admin = postgres('postgres://postgres@127.0.0.1:5432/test', { max: 1, onnotice: () => {} });
await admin.unsafe('drop database if exists hf_exp with (force)'); await admin.unsafe('create database hf_exp');
const h = await createDatabase({ url: 'postgres://postgres@127.0.0.1:5432/hf_exp', max: 4 });
await migrate(h.db, [auditMigrations]);
const w = new AuditWriter({ db: h.db, writer: 'x', checkpointKeys: prepareKeys(['x'.repeat(32)]), batchSize: 1e6, flushIntervalMs: 1e6, maxBuffered: 1e7, spillDir: null, retryBaseMs: 1, retryMaxMs: 2, writeTimeoutMs: 1e6, staleAfterMs: 1e6, logger: { warn() {}, error() {} } });
const input = (i: number) => ({ kind: 'access' as const, action: 'http.request', requestId: `req-${i}`, method: 'GET', route: '/v1/things/:id', path: `/v1/things/${i}`, status: 200, durationMs: 1.234, subjectId: '6f1c2c1e-2b7c-4c55-9d1e-1f2a3b4c5d6e', ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', browserName: 'Chrome', browserVersion: '120.0.0.0', osName: 'Windows', osVersion: 'NT 10.0', deviceType: 'desktop' as const });
const rows: AuditEvent[] = []; for (let i = 0; i < 100000; i++) rows.push(w.append(input(i)).event);
const snake = (e: AuditEvent) => ({ id: e.id, occurred_at: e.occurredAt, writer: e.writer, day: e.day, seq: e.seq, kind: e.kind, action: e.action, resource: e.resource, outcome: e.outcome, request_id: e.requestId, method: e.method, route: e.route, path: e.path, status: e.status, duration_ms: e.durationMs, subject_id: e.subjectId, ip: e.ip, ip_invalid: e.ipInvalid, user_agent: e.userAgent, browser_name: e.browserName, browser_version: e.browserVersion, os_name: e.osName, os_version: e.osVersion, device_type: e.deviceType, details: e.details, personal_salt: e.personalSalt, personal_digest: e.personalDigest, prev_hash: e.prevHash, hash: e.hash });
async function jsonBatch(b: AuditEvent[]) {
  await h.db.execute(sql`insert into audit.events select * from json_populate_recordset(null::audit.events, ${JSON.stringify(b.map(snake))}::json) on conflict (id) do nothing`);
}
async function run(label: string, fn: (b: AuditEvent[]) => Promise<void>, streams: number) {
  await h.db.execute(sql`truncate audit.events, audit.checkpoints`);
  const cpu0 = process.cpuUsage(); const t = performance.now();
  const per = rows.length / streams;
  await Promise.all(Array.from({ length: streams }, async (_, s) => { for (let i = s * per; i < (s + 1) * per; i += 500) await fn(rows.slice(i, i + 500)); }));
  const el = performance.now() - t; const c = process.cpuUsage(cpu0);
  console.log(label, streams, Math.round(1e5 / el * 1000), '/s node µs/event', ((c.user + c.system) / 1e5).toFixed(2));
}
const mark = (b: AuditEvent[]) => [{ writer: 'x', day: b[0]!.day, count: b[b.length - 1]!.seq + 1, lastHash: b[b.length - 1]!.hash, closed: false, mac: 'm' }];
for (const s of [1, 2]) { await run('unnest+mark', (b) => writeBatch(h.db, b, mark(b)), s); }
await h.close(); await admin.unsafe('drop database hf_exp with (force)'); await admin.end();
process.exit(0);
