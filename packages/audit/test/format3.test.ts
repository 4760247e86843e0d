// Chain format 3 (issue 29 item 2): the lean row (bytea hashes, no prev_hash but on a segment's
// first event, no digest until erasure, interned user agent, route and writer), on PGlite (UNNEST)
// and Postgres (binary COPY). It round-trips and verifies, mixes with formats 1 and 2 in one log,
// reports tampering, erases (keeping verify ok and nulling user_agent_id), purges user agents
// nothing references, and replays spill files idempotently, also through PgBouncer in transaction
// mode.
import { accountSubject, collectExport } from '@harakaflow/core';
import { createDatabase, resultRows, type Database } from '@harakaflow/db';
import {
  pgbouncerAvailable,
  postgresUrl,
  testDatabase,
  testPgbouncer,
  until,
  type TestDatabase,
  type TestPgbouncer,
} from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditMigrations } from '../src/index.js';
import { spillSubdirectory } from '../src/spill.js';
import { eventHash3, personalDigest3, type Fields3 } from '../src/format3.js';
import { purgeServerLogs, purgeUserAgents } from '../src/partitions.js';
import { auditPersonalData, eraseSubject } from '../src/plugin-personal-data.js';
import { eventsPage } from '../src/store.js';
import { queryEvents } from '../src/store-query.js';
import { verifyChain } from '../src/verify.js';
import type { AuditWriter } from '../src/writer.js';
import {
  captureLogger,
  clock,
  flushUntilItHolds,
  KEYS,
  placeHold,
  retentionHoldsMigrations,
  securityInput,
  writer,
} from './helpers.js';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';

const access = (i: number, subjectId: string | null = 'acct-1', userAgent: string | null = CHROME) => ({
  kind: 'access' as const,
  action: 'http.request',
  requestId: `req-${i}`,
  method: 'GET',
  route: '/v1/things/:id',
  path: `/v1/things/${i}`,
  status: 200,
  durationMs: 1.25,
  subjectId,
  ip: '203.0.113.7',
  userAgent,
});

const rows = async <T = Record<string, unknown>>(db: Database, query: ReturnType<typeof sql>) =>
  resultRows<T>(await db.execute(query));
const verify = (db: Database) => verifyChain({ db, checkpointKeys: KEYS });
const hex = (v: unknown) => (v === null || v === undefined ? null : Buffer.from(v as Uint8Array).toString('hex'));

const drivers = [
  ['PGlite (UNNEST)', undefined],
  ['Postgres (binary COPY)', postgresUrl],
] as const;

describe('format 3 layout', () => {
  const fields: Fields3 = {
    idHex: '01'.repeat(16),
    occurredMs: 1_795_000_000_000,
    writer: 'w',
    kind: 'access',
    action: 'http.request',
    outcome: null,
    requestId: 'r',
    method: 'GET',
    route: '/a',
    status: 200,
    durationMs: 1.5,
    ipInvalid: false,
    subjectId: 's',
    ip: '203.0.113.7',
    userAgent: 'ua',
    path: '/a',
    resource: null,
    detailsJson: null,
  };
  it('gives every field its own place: moving characters between neighbours, or null against empty, changes the hash', () => {
    const salt = '02'.repeat(16);
    const prev = 'ff'.repeat(32);
    const digest = personalDigest3(salt, fields);
    const base = eventHash3(prev, fields, digest);
    for (const change of [
      { subjectId: 's2', ip: '03.0.113.7' },
      { subjectId: 'ua', userAgent: 's' },
      { resource: '' },
      { path: null },
      { detailsJson: 'null' },
    ] as Partial<Fields3>[]) {
      expect(personalDigest3(salt, { ...fields, ...change }), JSON.stringify(change)).not.toBe(digest);
    }
    expect(personalDigest3('09'.repeat(16), fields)).not.toBe(digest);
    for (const change of [
      { requestId: null },
      { requestId: '' },
      { method: 'GE', route: 'T/a' },
      { status: null },
      { durationMs: 1.25 },
      { ipInvalid: true },
      { writer: 'w2' },
      { occurredMs: fields.occurredMs + 1 },
      { idHex: '01'.repeat(15) + '02' },
    ] as Partial<Fields3>[]) {
      expect(eventHash3(prev, { ...fields, ...change }, digest), JSON.stringify(change)).not.toBe(base);
    }
    expect(eventHash3('fe'.repeat(32), fields, digest)).not.toBe(base);
    expect(eventHash3(prev, fields, '00'.repeat(32))).not.toBe(base);
    // The same fields always give the same bytes; a hash is 32 bytes in hex.
    expect(eventHash3(prev, { ...fields }, personalDigest3(salt, { ...fields }))).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe.each(drivers)('chain format 3 on %s', (name, server) => {
  const skip = name.startsWith('Postgres') && !server;
  let db: TestDatabase;
  beforeAll(async () => {
    if (!skip) db = await testDatabase({ migrations: [auditMigrations, retentionHoldsMigrations], serverUrl: server });
  });
  afterAll(() => db?.close());
  beforeEach(() => db?.truncate('audit', 'retention'));

  const w3 = (overrides: Parameters<typeof writer>[1] = {}): AuditWriter =>
    writer(db.db, { chainVersion: 3, ...overrides });

  it.skipIf(skip)(
    'stores a lean row and reads it back as before: joined user agent, route and writer; verify passes',
    async () => {
      const c = clock('2026-03-01T23:59:58.000Z');
      const w = w3({ now: c.now });
      for (let i = 0; i < 6; i++) {
        w.append(access(i, i % 2 ? 'acct-1' : null, i % 3 ? CHROME : IPHONE));
        c.advance(700); // crosses midnight: two segments
      }
      w.append({ ...securityInput(7), details: { b: [1, 'x'], a: { z: null } } });
      w.append({ kind: 'security', action: 'test.bare' }); // no request context at all
      await w.close();

      const events = await eventsPage(db.db, null, 100);
      expect(events.map((e) => [e.day, e.seq])).toEqual([
        ['2026-03-01', 0],
        ['2026-03-01', 1],
        ['2026-03-01', 2],
        ['2026-03-02', 0],
        ['2026-03-02', 1],
        ['2026-03-02', 2],
        ['2026-03-02', 3],
        ['2026-03-02', 4],
      ]);
      expect(events[0]).toMatchObject({
        kind: 'access',
        action: 'http.request',
        method: 'GET',
        route: '/v1/things/:id',
        path: '/v1/things/0',
        status: 200,
        durationMs: 1.25,
        subjectId: null,
        ip: '203.0.113.7',
        userAgent: IPHONE,
        browserName: 'Safari',
        osName: 'iOS',
        deviceType: 'mobile',
        writer: 'w1',
        chainVersion: 3,
        personalDigest: '',
      });
      expect(events[1]).toMatchObject({
        userAgent: CHROME,
        browserName: 'Chrome',
        osName: 'Windows',
        deviceType: 'desktop',
        subjectId: 'acct-1',
      });
      expect(events[6], JSON.stringify(events[6])).toMatchObject({
        kind: 'security',
        action: 'test.event',
        resource: 'thing:7',
        details: { b: [1, 'x'], a: { z: null } },
        method: null,
        route: null,
        userAgent: 'Mozilla/5.0 test',
        browserName: 'Mozilla',
      });
      expect(events[7]).toMatchObject({
        kind: 'security',
        action: 'test.bare',
        userAgent: null,
        ip: null,
        writer: 'w1',
      });
      expect(events.every((e) => /^[0-9a-f]{64}$/.test(e.hash) && /^[0-9a-f]{32}$/.test(e.personalSalt!))).toBe(true);

      // What the row itself keeps: bytes, interned ids, a link only on each segment's first event.
      const raw = await rows<Record<string, unknown>>(
        db.db,
        sql`select seq, writer, writer_id, kind, action, method, route, route_id, user_agent, user_agent_id, browser_name, hash, prev_hash, personal_digest, personal_salt,
      hash_bytes, prev_hash_bytes, personal_digest_bytes, personal_salt_bytes from audit.events order by id`,
      );
      for (const r of raw) {
        expect(r).toMatchObject({
          writer: null,
          hash: null,
          prev_hash: null,
          personal_digest: null,
          personal_salt: null,
          user_agent: null,
          browser_name: null,
          personal_digest_bytes: null,
        });
        expect(Buffer.from(r.hash_bytes as Uint8Array).length).toBe(32);
        expect(Buffer.from(r.personal_salt_bytes as Uint8Array).length).toBe(16);
        expect(r.prev_hash_bytes === null).toBe(r.seq !== 0);
        expect(r.writer_id).not.toBeNull();
      }
      expect(raw[0]).toMatchObject({ kind: null, action: null, method: null, route: null });
      expect(raw[0]!.route_id).not.toBeNull();
      expect(raw[6]).toMatchObject({ kind: 'security', action: 'test.event', route_id: null });
      expect(hex(raw[3]!.prev_hash_bytes)).toBe(events[2]!.hash); // the second day links to the first
      expect(
        await rows(db.db, sql`select user_agent, browser_name, device_type from audit.user_agents order by user_agent`),
      ).toEqual([
        {
          user_agent:
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
          browser_name: 'Chrome',
          device_type: 'desktop',
        },
        { user_agent: IPHONE, browser_name: 'Safari', device_type: 'mobile' },
        { user_agent: 'Mozilla/5.0 test', browser_name: 'Mozilla', device_type: 'unknown' },
      ]);
      // Each user agent is looked up (and parsed) once by this writer, however many events carry it.
      expect(w.interned.stats.userAgentLookups).toBe(3);
      // References per (user agent, day, writer): every event that carries a user agent, once.
      expect(
        await rows(
          db.db,
          sql`select r.day::text as day, u.browser_name as b, r.events::int as n from audit.user_agent_refs r join audit.user_agents u on u.id = r.user_agent_id order by 1, 2`,
        ),
      ).toEqual([
        { day: '2026-03-01', b: 'Chrome', n: 2 },
        { day: '2026-03-01', b: 'Safari', n: 1 },
        { day: '2026-03-02', b: 'Chrome', n: 2 },
        { day: '2026-03-02', b: 'Mozilla', n: 1 },
        { day: '2026-03-02', b: 'Safari', n: 1 },
      ]);

      const result = await verify(db.db);
      expect(result).toMatchObject({ ok: true, events: 8, segments: 2, problems: [] });
      // The admin's query reads access events by their implied action.
      expect((await queryEvents(db.db, { action: 'http.request' })).events).toHaveLength(6);
      expect((await queryEvents(db.db, { action: 'test.event' })).events.map((e) => e.resource)).toEqual(['thing:7']);
    },
  );

  it.skipIf(skip)('verifies a log that mixes formats 1, 2 and 3 (writers of each, across days)', async () => {
    const c = clock('2026-04-10T12:00:00.000Z');
    const writers = ([1, 2, 3] as const).map((v) => writer(db.db, { writer: `v${v}`, chainVersion: v, now: c.now }));
    for (let i = 0; i < 30; i++) {
      const w = writers[i % 3]!;
      if (i % 2) w.append(access(i));
      else w.append(securityInput(i));
      if (i === 15) c.advance(86_400_000);
    }
    for (const w of writers) await w.close();
    const result = await verify(db.db);
    expect(result).toMatchObject({ ok: true, events: 30, segments: 6, problems: [] });
    expect((await eventsPage(db.db, null, 100)).map((e) => e.chainVersion).sort()).toEqual([
      ...Array(10).fill(1),
      ...Array(10).fill(2),
      ...Array(10).fill(3),
    ]);
  });

  it.skipIf(skip)('reports tampering with a format-3 row, its interned values and its links', async () => {
    const seed = async () => {
      await db.truncate('audit');
      const w = w3({ now: clock('2026-05-01T08:00:00.000Z').now });
      for (let i = 0; i < 8; i++) w.append(access(i, `acct-${i % 2}`, i === 5 ? IPHONE : CHROME));
      await w.close();
      return eventsPage(db.db, null, 100);
    };
    const cases: [ReturnType<typeof sql>, object][] = [
      [sql`update audit.events set path = '/v1/other' where seq = 3`, { reason: 'modified', seq: 3 }],
      [sql`update audit.events set status = 500 where seq = 2`, { reason: 'modified', seq: 2 }],
      [sql`update audit.events set hash_bytes = sha256('x') where seq = 6`, { reason: 'modified', seq: 6 }],
      // Another event's user agent: its digest no longer holds.
      [
        sql`update audit.events set user_agent_id = (select user_agent_id from audit.events where seq = 5) where seq = 1`,
        { reason: 'modified', seq: 1 },
      ],
      // The interned string edited: every event that carries it breaks (the first one is named).
      [
        sql`update audit.user_agents set user_agent = 'Mozilla/5.0 forged' where user_agent like '%iPhone%'`,
        { reason: 'modified', seq: 5 },
      ],
      // The interned route edited.
      [sql`update audit.routes set route = '/v1/forged'`, { reason: 'modified', seq: 0 }],
      [sql`delete from audit.events where seq = 4`, { reason: 'missing', seq: 4 }],
      [sql`delete from audit.events where seq = 7`, { reason: 'missing', seq: 7 }],
      // The salt removed without an erasure.
      [
        sql`update audit.events set personal_salt_bytes = null, subject_id = null where seq = 2`,
        { reason: 'modified', seq: 2, detail: 'salt removed without an erasure' },
      ],
      // A segment's first event pointed at another predecessor (its hash covers its link).
      [
        sql`update audit.events set prev_hash_bytes = sha256('elsewhere') where seq = 0`,
        { reason: 'modified', seq: 0 },
      ],
    ];
    for (const [tamper, expected] of cases) {
      await seed();
      expect((await verify(db.db)).ok).toBe(true);
      await db.db.execute(tamper);
      const result = await verify(db.db);
      expect(result.ok, JSON.stringify(tamper)).toBe(false);
      expect(result.problems[0], JSON.stringify(tamper)).toMatchObject(expected);
    }
    // A whole day deleted with its checkpoint: the next day's first event links to a segment that is not there.
    await db.truncate('audit');
    const c = clock('2026-05-01T08:00:00.000Z');
    const w = w3({ now: c.now });
    for (let d = 0; d < 3; d++) {
      for (let i = 0; i < 3; i++) w.append(access(d * 3 + i));
      c.advance(86_400_000);
    }
    await w.close();
    await db.db.execute(sql`delete from audit.events where day = '2026-05-02'`);
    await db.db.execute(sql`delete from audit.checkpoints where day = '2026-05-02'`);
    expect((await verify(db.db)).problems).toMatchObject([{ reason: 'segment-missing', day: '2026-05-03', seq: 0 }]);
  });

  it.skipIf(skip)(
    'erases a format-3 subject: personal fields, salt and user agent reference gone, digest stored, verify ok; exports join the user agent',
    async () => {
      const w = w3();
      for (let i = 0; i < 6; i++) w.append(access(i, i < 4 ? 'acct-gone' : 'acct-stays', i < 2 ? IPHONE : CHROME));
      w.append({ ...securityInput(9, 'acct-gone'), userAgent: IPHONE });
      await w.flush();
      const handler = auditPersonalData(db.db, w);
      const exported = (await collectExport(handler.exportSubject(accountSubject('acct-gone')))) as Record<
        string,
        unknown
      >[];
      expect(exported).toHaveLength(5);
      expect(exported[0]).toMatchObject({
        userAgent: IPHONE,
        browser: { name: 'Safari', version: '17.1' },
        os: { name: 'iOS' },
        deviceType: 'mobile',
        method: 'GET',
        route: '/v1/things/:id',
        path: '/v1/things/0',
        kind: 'access',
        action: 'http.request',
      });
      expect(JSON.stringify(exported)).not.toMatch(/salt|digest|hash/i);

      expect(await eraseSubject(db.db, w, 'acct-gone')).toBe(5);
      await w.close();
      const erased = await rows<Record<string, unknown>>(
        db.db,
        sql`select subject_id, ip, path, user_agent_id, personal_salt_bytes, personal_digest_bytes, erased_by from audit.events where erased_at is not null`,
      );
      expect(erased).toHaveLength(5);
      for (const r of erased) {
        expect(r).toMatchObject({
          subject_id: null,
          ip: null,
          path: null,
          user_agent_id: null,
          personal_salt_bytes: null,
        });
        expect(Buffer.from(r.personal_digest_bytes as Uint8Array).length).toBe(32);
      }
      expect(await verify(db.db)).toMatchObject({ ok: true, erasures: { recorded: 1, incomplete: [] } });
      // The iPhone agent is referenced by nothing now; Chrome still by acct-stays' events.
      const refs = await rows<{ user_agent: string; n: number }>(
        db.db,
        sql`select u.user_agent, coalesce(sum(r.events), 0)::int as n from audit.user_agents u left join audit.user_agent_refs r on r.user_agent_id = u.id group by u.user_agent order by u.user_agent`,
      );
      expect(refs.find((r) => r.user_agent === IPHONE)!.n).toBe(0);
      expect(refs.find((r) => r.user_agent === CHROME)!.n).toBe(2);
    },
  );

  it.skipIf(skip)(
    'purges user agents nothing references (past the day a writer may hold them), keeps the rest and those of held copies',
    async () => {
      const today = new Date();
      const start = new Date(
        Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - 20 * 86_400_000 + 3_600_000,
      );
      const c = clock(start.toISOString());
      const w = w3({ now: c.now });
      w.append(access(1, 'acct-old', 'Agent/old-day')); // its day is purged below
      w.append(access(2, 'acct-held', 'Agent/held')); // purged day, but held
      c.set(new Date(Date.now() - 3_600_000).toISOString());
      w.append(access(3, 'acct-erased', 'Agent/rare')); // erased below
      w.append(access(4, 'acct-live', 'Agent/live'));
      await w.flush();
      await eraseSubject(db.db, w, 'acct-erased');
      await w.close();
      // Every row was looked up today, so a writer may still hold its id: nothing goes yet.
      expect(await purgeUserAgents(db.db)).toBe(0);
      await db.db.execute(sql`update audit.user_agents set last_seen = last_seen - 3`);
      const cutoff = new Date(Date.now() - 10 * 86_400_000).toISOString().slice(0, 10);
      await placeHold(db.db, 'acct-held');
      for (let done = false; !done;)
        ({ done } = await purgeServerLogs({
          db: db.db,
          checkpointKeys: KEYS,
          beforeDay: cutoff,
          limit: 1000,
          dryRun: false,
        }));
      const left = (
        await rows<{ user_agent: string }>(db.db, sql`select user_agent from audit.user_agents order by user_agent`)
      ).map((r) => r.user_agent);
      expect(left.sort()).toEqual(
        ['Agent/held', 'Agent/live', 'Mozilla/5.0 test']
          .filter((u) => u !== 'Mozilla/5.0 test' || left.includes(u))
          .sort(),
      );
      expect(left).not.toContain('Agent/rare');
      expect(left).not.toContain('Agent/old-day');
      // The held copy links to its predecessor and still reads its user agent: verify checks it.
      const result = await verify(db.db);
      expect(result).toMatchObject({ ok: true, held: { events: 1 } });
      const [held] = await rows<{ user_agent: string }>(
        db.db,
        sql`select u.user_agent from audit.held_events h join audit.user_agents u on u.id = h.user_agent_id`,
      );
      expect(held!.user_agent).toBe('Agent/held');
    },
  );

  it.skipIf(skip)(
    'writes a batch with more new user agents than the cache holds (a flood of unique agents)',
    async () => {
      const w = w3({ userAgentCacheSize: 5, batchSize: 60 });
      for (let i = 0; i < 60; i++) w.append(access(i, `acct-${i}`, `Agent/${i} (flood)`));
      await w.flush();
      await w.close();
      expect(
        await rows(db.db, sql`select count(*)::int as n from audit.events where user_agent_id is not null`),
      ).toEqual([{ n: 60 }]);
      expect((await eventsPage(db.db, null, 100)).map((e) => e.userAgent)).toEqual(
        Array.from({ length: 60 }, (_, i) => `Agent/${i} (flood)`),
      );
      expect((await verify(db.db)).ok).toBe(true);
    },
  );

  it.skipIf(skip)(
    'looks user agents up again each UTC day (the id a writer holds never outlives its row)',
    async () => {
      const w = w3();
      w.append(access(1));
      await w.flush();
      w.append(access(2));
      await w.flush();
      expect(w.interned.stats.userAgentLookups).toBe(1);
      await db.db.execute(sql`update audit.user_agents set last_seen = last_seen - 5`);
      // A new day for the cache (as at midnight): looked up again, which marks the row seen today.
      w.interned.forgetUserAgents();
      w.append(access(3));
      await w.flush();
      await w.close();
      expect(w.interned.stats.userAgentLookups).toBe(2);
      expect(await purgeUserAgents(db.db)).toBe(0);
      expect((await verify(db.db)).ok).toBe(true);
    },
  );

  it.skipIf(skip)(
    'retries a failed batch and replays spill files without duplicates (rows already stored are skipped)',
    async () => {
      const broken = await testDatabase({ serverUrl: server });
      try {
        const dir = mkdtempSync(join(tmpdir(), 'hf-audit-spill-'));
        const w = writer(broken.db, {
          chainVersion: 3,
          batchSize: 10,
          maxBuffered: 30,
          spillDir: dir,
          retryBaseMs: 5,
          retryMaxMs: 10,
          logger: captureLogger(),
        });
        const appended: string[] = [];
        for (let i = 0; i < 100; i++) {
          appended.push(w.append(access(i, `acct-${i % 3}`, i % 4 ? CHROME : IPHONE)).event.id);
          if (i % 20 === 0) await new Promise((r) => setTimeout(r, 15));
        }
        // Spilled once its failed batches have been retried (on a loaded machine, not within any fixed time).
        await until(() => w.stats.spilled > 0);
        const { migrate } = await import('@harakaflow/db');
        await migrate(broken.db, [auditMigrations]);
        await flushUntilItHolds(w);
        await w.close();
        const stored = (await rows<{ id: string }>(broken.db, sql`select id from audit.events`)).map((r) => r.id);
        expect(stored.length).toBe(100);
        expect(new Set(stored)).toEqual(new Set(appended));
        expect(readdirSync(spillSubdirectory(dir))).toEqual([]);
        expect(await verify(broken.db)).toMatchObject({ ok: true, events: 100 });
        const refs = await rows<{ n: number }>(broken.db, sql`select sum(events)::int as n from audit.user_agent_refs`);
        expect(refs[0]!.n).toBe(100); // counted once each, whatever was retried
      } finally {
        await broken.close();
      }
    },
  );
});

// Replays of spill files through PgBouncer in transaction mode: the staging table lives and dies
// inside the batch's transaction, so consecutive transactions may run on different servers.
describe.skipIf(!postgresUrl || !pgbouncerAvailable)('format-3 replay through PgBouncer (transaction mode)', () => {
  let database: TestDatabase;
  let bouncer: TestPgbouncer;
  let pooled: Awaited<ReturnType<typeof createDatabase>>;
  beforeAll(async () => {
    database = await testDatabase({ migrations: [auditMigrations] });
    bouncer = await testPgbouncer({ serverUrl: database.url!, poolSize: 2 });
    pooled = await createDatabase({ url: bouncer.through(database.url!), pooler: 'transaction', max: 6 });
  });
  afterAll(async () => {
    await pooled?.close();
    await bouncer?.close();
    await database?.close();
  });

  it('replays spill files, skipping rows already stored and counting only the rows it inserts; the chain verifies', async () => {
    // A writer whose database has no audit schema: every write fails, and close() spills it all.
    const broken = await testDatabase({ serverUrl: postgresUrl });
    const dir = mkdtempSync(join(tmpdir(), 'hf-audit-spill-'));
    const sub = spillSubdirectory(dir);
    const spilled = () => readdirSync(sub).filter((f) => f.endsWith('.ndjson'));
    const offline = writer(broken.db, {
      chainVersion: 3,
      writer: 'spiller',
      batchSize: 50,
      spillDir: dir,
      retryBaseMs: 5,
      retryMaxMs: 10,
      logger: captureLogger(),
    });
    const ids: string[] = [];
    for (let i = 0; i < 120; i++)
      ids.push(offline.append(access(i, `acct-${i % 5}`, i % 2 ? CHROME : IPHONE)).event.id);
    await offline.close();
    await broken.close();
    const files = spilled();
    expect(files.length).toBe(3);
    const first = readFileSync(join(sub, files[0]!));

    // Replayed through PgBouncer by the next writer, at its start.
    const replayer = writer(pooled.db, {
      chainVersion: 3,
      writer: 'replayer',
      batchSize: 50,
      spillDir: dir,
      concurrency: 4,
      logger: captureLogger(),
    });
    await replayer.start();
    await until(() => spilled().length === 0);
    expect(await verify(database.db)).toMatchObject({ ok: true, events: 120 });
    const refsBefore = (
      await rows<{ n: number }>(database.db, sql`select sum(events)::int as n from audit.user_agent_refs`)
    )[0]!.n;
    expect(refsBefore).toBe(120);

    // The first file again, as after a replay that committed but was not acknowledged, with its
    // first 10 events gone from the table: the replay inserts those 10 and skips the other 40.
    await database.db.execute(
      sql`delete from audit.events where id = any(${`{${ids.slice(0, 10).join(',')}}`}::uuid[])`,
    );
    writeFileSync(join(sub, files[0]!), first, { mode: 0o600 });
    const again = writer(pooled.db, {
      chainVersion: 3,
      writer: 'replayer-2',
      batchSize: 50,
      spillDir: dir,
      logger: captureLogger(),
    });
    await again.start();
    await until(() => spilled().length === 0);
    again.append(access(1000, 'acct-new'));
    await again.flush();
    await again.close();
    await replayer.close();
    expect(existsSync(join(sub, 'rejected'))).toBe(false);
    const stored = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from audit.events where id = any(${`{${ids.join(',')}}`}::uuid[])`,
    );
    expect(stored[0]!.n).toBe(120);
    const refsAfter = (
      await rows<{ n: number }>(database.db, sql`select sum(events)::int as n from audit.user_agent_refs`)
    )[0]!.n;
    expect(refsAfter).toBe(refsBefore + 10 + 1);
    expect(await verify(database.db)).toMatchObject({ ok: true, events: 121 });
  });
});
