// Issue 30 item 5: an audit event buffered when its subject is erased was stored afterwards. Under
// load the data-rights check found a purged account's id in the log after its deletion was
// fulfilled: events still in a writer's queue (another replica's), in a spill file, or in a batch
// waiting to be retried when the erasure ran were inserted later, subject and all. The erasure now
// writes a keyed tombstone of the subject first, and every writer path (UNNEST, binary COPY, the
// staging-table retry, the spill replay) inserts the subject's earlier events erased, exactly as
// erasure leaves an event in place, and appends the record that states them: the chain verifies.
import { migrate, resultRows, type Database } from '@harakaflow/db';
import { postgresUrl, testDatabase, until, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditMigrations } from '../../src/index.js';
import { spillSubdirectory } from '../../src/spill.js';
import { eraseSubject } from '../../src/plugin-personal-data.js';
import { purgeTombstones, SubjectKeys } from '../../src/tombstones.js';
import { verifyChain } from '../../src/verify.js';
import type { AuditWriter } from '../../src/writer.js';
import { captureLogger, CHECKPOINT_KEY, clock, KEYS, writer } from '../helpers.js';

const GONE = 'acct-gone-5f1c';
const OTHER = 'acct-stays-9d2e';

/** An event carrying the subject everywhere erasure reaches: subject, IP, user agent, path, resource, details. */
const event = (subjectId: string, i: number) => ({
  kind: 'security' as const,
  action: 'vault.secret.read',
  resource: `whatsapp/${subjectId}/creds`,
  outcome: 'success',
  requestId: `req-${i}`,
  method: 'GET',
  route: '/v1/whatsapp/sessions/:sessionId/credentials/:name',
  path: `/v1/whatsapp/sessions/${subjectId}/credentials/creds`,
  subjectId,
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0',
  details: { session: subjectId, i },
});

const rows = async <T = Record<string, unknown>>(db: Database, query: ReturnType<typeof sql>) =>
  resultRows<T>(await db.execute(query));
const row = async (db: Database, id: string) =>
  (await rows(db, sql`select * from audit.events where id = ${id}::uuid`))[0]!;
/** Which columns of a stored row are set: an event inserted erased must look exactly like one erased in place. */
const shape = (r: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(r)
      .filter(([k]) => k !== 'prev_hash' && k !== 'prev_hash_bytes')
      .map(([k, v]) => [k, v === null ? null : 'set']),
  );
const verify = (db: Database) => verifyChain({ db, checkpointKeys: KEYS });
const everything = async (db: Database) => JSON.stringify(await rows(db, sql`select * from audit.events`));
const records = (db: Database) =>
  rows<{ details: Record<string, unknown> }>(
    db,
    sql`select details from audit.events where action = 'audit.subject.erased' order by id`,
  );

const cases = [
  { name: 'PGlite, format 2 (UNNEST)', server: undefined, chainVersion: 2 as const, copy: false },
  { name: 'PGlite, format 3 (UNNEST)', server: undefined, chainVersion: 3 as const, copy: false },
  { name: 'Postgres, format 2 (UNNEST)', server: postgresUrl, chainVersion: 2 as const, copy: false },
  { name: 'Postgres, format 3 (UNNEST)', server: postgresUrl, chainVersion: 3 as const, copy: false },
  { name: 'Postgres, format 3 (binary COPY, copy: true)', server: postgresUrl, chainVersion: 3 as const, copy: true },
];

describe.each(cases)('erasure reaches events written after it: $name', ({ name, server, chainVersion, copy }) => {
  const skip = name.startsWith('Postgres') && !server;
  let db: TestDatabase;
  beforeAll(async () => {
    if (!skip) db = await testDatabase({ migrations: [auditMigrations], serverUrl: server });
  });
  afterAll(() => db?.close());
  beforeEach(async () => {
    if (!skip) await db.truncate('audit');
  });
  const make = (d: Database, overrides: Parameters<typeof writer>[1] = {}) =>
    writer(d, { chainVersion, copy, ...overrides });
  /** A replica whose events stay in its queue until it is told to flush. */
  const replica = (d: Database, name: string) => make(d, { writer: name, flushIntervalMs: 600_000, batchSize: 1000 });

  it.skipIf(skip)(
    "an event in another replica's queue when its subject is erased is stored erased, like one erased in place; the chain verifies",
    async () => {
      const eraser = make(db.db, { writer: 'eraser' });
      const stored = eraser.append(event(GONE, 1)).event.id;
      await eraser.flush();
      const b = replica(db.db, 'replica-b');
      const held = b.append(event(GONE, 2)).event.id;
      const kept = b.append(event(OTHER, 3)).event.id;
      expect(b.buffered).toBe(2); // held in the queue across the erasure

      expect(await eraseSubject(db.db, eraser, GONE)).toBe(1);
      await b.flush();
      await b.flush(); // the record of what it inserted erased
      await Promise.all([b.close(), eraser.close()]);

      const late = await row(db.db, held);
      expect(late).toMatchObject({ subject_id: null, ip: null, path: null, resource: null, details: null });
      expect(late.erased_at).not.toBeNull();
      expect(shape(late)).toEqual(shape(await row(db.db, stored)));
      expect(await everything(db.db)).not.toContain(GONE);
      expect(await row(db.db, kept)).toMatchObject({ subject_id: OTHER });
      const [, record] = await records(db.db);
      expect(record!.details).toMatchObject({
        erasureId: late.erased_by,
        count: 1,
        firstId: held,
        lastId: held,
        atInsert: true,
      });
      expect(await verify(db.db)).toMatchObject({ ok: true, problems: [], erasures: { recorded: 2, incomplete: [] } });
    },
  );

  it.skipIf(skip)(
    'a batch whose first write failed and that is retried after the erasure stores its events erased',
    async () => {
      const late = await testDatabase({ serverUrl: server }); // no audit schema yet: the first write fails
      try {
        const b = make(late.db, {
          writer: 'replica-b',
          retryBaseMs: 600_000,
          retryMaxMs: 600_000,
          logger: captureLogger(),
        });
        const held = b.append(event(GONE, 1)).event.id;
        await expect(b.flush()).rejects.toMatchObject({ code: 'HF_AUDIT_UNAVAILABLE' });
        expect(b.stats.failedBatches).toBe(1);
        await migrate(late.db, [auditMigrations]);
        const eraser = make(late.db, { writer: 'eraser' });
        expect(await eraseSubject(late.db, eraser, GONE)).toBe(0); // nothing of it stored yet
        await b.flush(); // the retry (rows possibly stored are skipped: the staging table with copy: true)
        await b.flush();
        await Promise.all([b.close(), eraser.close()]);
        expect(await row(late.db, held)).toMatchObject({
          subject_id: null,
          ip: null,
          path: null,
          resource: null,
          details: null,
        });
        expect(await everything(late.db)).not.toContain(GONE);
        expect(await verify(late.db)).toMatchObject({ ok: true, problems: [] });
      } finally {
        await late.close();
      }
    },
  );

  it.skipIf(skip)(
    'events in a spill file when their subject is erased are stored erased when it is replayed',
    async () => {
      const broken = await testDatabase({ serverUrl: server }); // no audit schema: everything is spilled
      const dir = mkdtempSync(join(tmpdir(), 'hf-audit-tombstone-spill-'));
      try {
        const offline = make(broken.db, {
          writer: 'spiller',
          batchSize: 3,
          spillDir: dir,
          retryBaseMs: 5,
          retryMaxMs: 10,
          logger: captureLogger(),
        });
        const ids = [0, 1, 2, 3].map((i) => offline.append(event(i % 2 ? OTHER : GONE, i)).event.id);
        await offline.close();
        const spilled = () => readdirSync(spillSubdirectory(dir)).filter((f) => f.endsWith('.ndjson'));
        expect(spilled().length).toBeGreaterThan(0);

        const eraser = make(db.db, { writer: 'eraser' });
        expect(await eraseSubject(db.db, eraser, GONE)).toBe(0);
        const replayer = make(db.db, { writer: 'replayer', spillDir: dir, logger: captureLogger() });
        await replayer.start();
        await until(() => spilled().length === 0);
        await replayer.flush();
        await Promise.all([replayer.close(), eraser.close()]);

        for (const id of [ids[0]!, ids[2]!])
          expect(await row(db.db, id)).toMatchObject({
            subject_id: null,
            ip: null,
            path: null,
            resource: null,
            details: null,
          });
        for (const id of [ids[1]!, ids[3]!]) expect(await row(db.db, id)).toMatchObject({ subject_id: OTHER });
        expect(await everything(db.db)).not.toContain(GONE);
        expect(await verify(db.db)).toMatchObject({ ok: true, problems: [] });
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await broken.close();
      }
    },
  );

  it.skipIf(skip)(
    'a record its writer could not append (it stopped first) is appended by the next one; until then verify says so',
    async () => {
      const eraser = make(db.db, { writer: 'eraser' });
      const b = replica(db.db, 'replica-b');
      const held = b.append(event(GONE, 1)).event.id;
      await eraseSubject(db.db, eraser, GONE);
      await b.close(); // writes the batch while closing: the record cannot be queued any more
      await eraser.flush();
      expect(await row(db.db, held)).toMatchObject({ subject_id: null });
      expect((await verify(db.db)).problems).toMatchObject([{ reason: 'erasure-unrecorded', id: held }]);
      expect(await eraser.recordPendingErasures(0)).toBe(1);
      await eraser.close();
      expect(await verify(db.db)).toMatchObject({ ok: true, problems: [] });
    },
  );

  it.skipIf(skip)(
    'keeps no subject id in a tombstone; events after the erasure are new and kept; old tombstones are purged (8 days at least)',
    async () => {
      const eraser = make(db.db, { writer: 'eraser' });
      await eraseSubject(db.db, eraser, GONE);
      const tombstones = await rows<{ key: Uint8Array }>(db.db, sql`select key from audit.subject_tombstones`);
      expect(tombstones).toHaveLength(1);
      expect(Buffer.from(tombstones[0]!.key).length).toBe(32);
      expect(Buffer.from(tombstones[0]!.key).toString('latin1')).not.toContain(GONE);
      // An event of the subject made after its erasure (the record of a minor's erasure names the account) stays as written.
      const after = eraser.append(event(GONE, 9)).event.id;
      await eraser.close();
      expect(await row(db.db, after)).toMatchObject({ subject_id: GONE });

      await db.db.execute(sql`update audit.subject_tombstones set erased_at = now() - interval '9 days'`);
      expect(await purgeTombstones(db.db, 1)).toBe(1); // asked for 1 day, kept 8: the 9-day-old one goes
      await db.db.execute(
        sql`insert into audit.subject_tombstones (key, erased_at) values ('\\x00', now() - interval '7 days')`,
      );
      expect(await purgeTombstones(db.db, 1)).toBe(0);
      expect(await purgeTombstones(db.db, 91)).toBe(0);
    },
  );

  it.skipIf(skip)(
    'an event that waited longer than the longest wait is inserted erased whatever its subject',
    async () => {
      const c = clock(new Date(Date.now() - 2 * 86_400_000).toISOString());
      const w = make(db.db, {
        writer: 'slow',
        now: c.now,
        tombstoneDays: 1,
        flushIntervalMs: 600_000,
        batchSize: 1000,
      });
      const old = w.append(event(OTHER, 1)).event.id;
      c.set(new Date().toISOString());
      const fresh = w.append(event(OTHER, 2)).event.id;
      await w.flush();
      await w.flush();
      await w.close();
      expect(await row(db.db, old)).toMatchObject({ subject_id: null, ip: null, path: null });
      expect(await row(db.db, fresh)).toMatchObject({ subject_id: OTHER });
      expect(await verify(db.db)).toMatchObject({ ok: true, problems: [] });
    },
  );
});

describe.skipIf(!postgresUrl)('a tombstone and the batches of other replicas (Postgres)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase({ migrations: [auditMigrations], max: 6 });
  });
  afterAll(() => db?.close());

  it('commits only after every batch that looked the tombstones up before it has committed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let looked!: () => void;
    const lookedUp = new Promise<void>((r) => (looked = r));
    // A batch of another replica: it looked the tombstones up (none yet) and has not committed.
    const batch = db.db.transaction(async (tx) => {
      await tx.execute(sql`select * from audit.tombstones_for('{}'::bytea[], '{}'::timestamptz[])`);
      looked();
      await gate;
    });
    await lookedUp;
    const w: AuditWriter = writer(db.db, { writer: 'eraser' });
    let written = false;
    const tombstone = w.tombstone(GONE).then(() => (written = true));
    // The erasure's tombstone waits for that batch: its exclusive lock is queued behind the batch's shared one.
    const waiting = sql`select 1 from pg_locks where locktype = 'advisory' and objid = 1212497301 and not granted
      and database = (select oid from pg_database where datname = current_database())`;
    await until(async () => (await rows(db.db, waiting)).length > 0);
    expect(written).toBe(false);
    release();
    await batch;
    await tombstone;
    expect(await rows(db.db, sql`select 1 from audit.subject_tombstones`)).toHaveLength(1);
    await w.close();
  });
});

// The tombstone's key is derived from the checkpoint key: another key gives another tombstone.
it('derives the tombstone key from the checkpoint key', () => {
  const a = new SubjectKeys([CHECKPOINT_KEY]).of(GONE);
  expect(a).toHaveLength(1);
  expect(a[0]).toMatch(/^[0-9a-f]{64}$/);
  expect(new SubjectKeys([`${CHECKPOINT_KEY}-other`]).of(GONE)).not.toEqual(a);
  expect(new SubjectKeys([CHECKPOINT_KEY, `${CHECKPOINT_KEY}-other`]).of(GONE)[0]).toBe(a[0]);
});
