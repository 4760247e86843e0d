// Day partitions of the audit log (issue 16 item 4) on both PGlite and real Postgres: a new
// database is partitioned, server-log retention drops whole days and verify anchors at the signed
// horizon (a purge is not tampering, a day deleted by hand still is), held subjects' events
// outlive their day, and an unpartitioned log keeps working until migrate-partitions moves it.
import { migrate } from '@harakaflow/db';
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditMigrations } from '../src/index.js';
import { migratePartitions } from '../src/migrate-partitions.js';
import { addDays, dayPartitions, eventsLayout, purgeServerLogs, readHorizon } from '../src/partitions.js';
import { eraseSubject } from '../src/plugin-personal-data.js';
import { encodeSpill, prepareSpillDirectory, SPILL_SUFFIX } from '../src/spill.js';
import { verifyChain } from '../src/verify.js';
import {
  clock,
  KEYS,
  legacyMigrations,
  placeHold,
  retentionHoldsMigrations,
  securityInput,
  writer,
} from './helpers.js';

const DAY = 86_400_000;
const rows = async <T>(db: TestDatabase, query: ReturnType<typeof sql>) => {
  const r = (await db.db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(r) ? r : r.rows;
};
const count = async (db: TestDatabase, query: ReturnType<typeof sql>) =>
  Number((await rows<{ n: string | number }>(db, query))[0]!.n);

/** `days` consecutive UTC days of events for writers w1 and w2, starting `startDaysAgo` days back; per day, 3 events each, one of them by acct-held. */
async function seedDays(db: TestDatabase, startDaysAgo: number, days: number): Promise<string[]> {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const start = new Date(today - startDaysAgo * DAY + 3_600_000).toISOString();
  const list: string[] = [];
  for (const id of ['w1', 'w2']) {
    const c = clock(start);
    const w = writer(db.db, { writer: id, now: c.now });
    for (let d = 0; d < days; d++) {
      w.append(securityInput(d * 3, 'acct-1'));
      w.append(securityInput(d * 3 + 1, 'acct-held'));
      w.append(securityInput(d * 3 + 2, null));
      if (id === 'w1') list.push(c.now().toISOString().slice(0, 10));
      c.advance(DAY);
    }
    await w.close();
  }
  return list;
}

/** A database at the audit log's layout before migration 0002 (unpartitioned), then migrated to the current set once it holds events. */
async function legacyDatabase(server: string | undefined): Promise<{ db: TestDatabase; upgrade: () => Promise<void> }> {
  const legacy = legacyMigrations();
  const db = await testDatabase({ migrations: [legacy], serverUrl: server });
  return {
    db,
    upgrade: async () => {
      await migrate(db.db, [auditMigrations, retentionHoldsMigrations]);
      legacy.remove();
    },
  };
}

describe('spill files under server-log retention', () => {
  it('removes the spill files last written before the cutoff, counting their events, and keeps newer ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-audit-spill-retention-'));
    try {
      const sub = (await prepareSpillDirectory(dir)).path;
      const c = clock('2026-01-01T10:00:00.000Z');
      const source = writer(undefined as never, { now: c.now });
      const events = [0, 1, 2].map((i) => source.append(securityInput(i)).event);
      await source.close().catch(() => undefined);
      const text = encodeSpill({ writer: 'w1', after: null, items: events }, KEYS);
      writeFileSync(join(sub, `old${SPILL_SUFFIX}`), text);
      writeFileSync(join(sub, `new${SPILL_SUFFIX}`), text);
      const old = new Date('2026-01-02T00:00:00Z');
      utimesSync(join(sub, `old${SPILL_SUFFIX}`), old, old);
      const w = writer(undefined as never, { spillDir: dir });
      expect(await w.purgeSpillBefore(new Date('2026-02-01T00:00:00Z'))).toBe(3);
      expect(readdirSync(sub).sort()).toEqual([`new${SPILL_SUFFIX}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const drivers = [
  ['PGlite', undefined],
  ['Postgres', postgresUrl],
] as const;

describe.each(drivers)('audit day partitions on %s', (name, server) => {
  const skip = name === 'Postgres' && !server;
  const open: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of open) await db.close();
  });
  const fresh = async () => {
    const db = await testDatabase({ migrations: [auditMigrations, retentionHoldsMigrations], serverUrl: server });
    open.push(db);
    return db;
  };

  it.skipIf(skip)(
    'partitions a new database by day, with no DEFAULT partition; writers create the days they write, three ahead',
    async () => {
      const db = await fresh();
      expect(await eventsLayout(db.db)).toBe('partitioned');
      expect(
        await count(
          db,
          sql`select count(*) as n from pg_partitioned_table p where p.partrelid = 'audit.events'::regclass and p.partdefid = 0`,
        ),
      ).toBe(1);
      const c = clock('2026-03-01T22:00:00.000Z');
      const w = writer(db.db, { now: c.now });
      w.append(securityInput(1));
      await w.flush();
      expect(await dayPartitions(db.db)).toEqual(
        expect.arrayContaining(['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04']),
      );
      // A day far from any partition (a clock that jumped) is created when its insert fails, then written.
      c.advance(40 * DAY);
      w.append(securityInput(2));
      await w.close();
      expect(await dayPartitions(db.db)).toContain('2026-04-10');
      expect(await count(db, sql`select count(*) as n from audit.events`)).toBe(2);
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).ok).toBe(true);
    },
  );

  it.skipIf(skip)(
    'drops whole days past the cutoff; verify anchors at the horizon; a day deleted by hand inside the kept range is still reported',
    async () => {
      const db = await fresh();
      const days = await seedDays(db, 100, 5);
      await placeHold(db.db, 'acct-held');
      const purge = (dryRun = false) =>
        purgeServerLogs({ db: db.db, checkpointKeys: KEYS, beforeDay: days[2]!, limit: 5000, dryRun });

      // A dry run counts and changes nothing.
      expect(await purge(true)).toEqual({ rows: 12, partitions: 2, done: true });
      expect(await count(db, sql`select count(*) as n from audit.events`)).toBe(30);
      expect(await readHorizon(db.db, KEYS)).toBeNull();

      // One day a step, oldest first; each step a whole partition.
      expect(await purge()).toEqual({ rows: 6, partitions: 1, done: false });
      expect(await purge()).toEqual({ rows: 6, partitions: 1, done: true });
      expect(await purge()).toEqual({ rows: 0, partitions: 0, done: true });
      expect((await dayPartitions(db.db)).filter((d) => d < days[2]!)).toEqual([]);
      expect(await count(db, sql`select count(*) as n from audit.events`)).toBe(18);
      expect(await readHorizon(db.db, KEYS)).toEqual({ day: days[2], valid: true });
      // The held subject's events of the dropped days were copied first, with their hashes.
      expect(await count(db, sql`select count(*) as n from audit.held_events where subject_id = 'acct-held'`)).toBe(4);
      expect(await count(db, sql`select count(*) as n from audit.held_events where subject_id <> 'acct-held'`)).toBe(0);
      // Each writer keeps one checkpoint before the horizon: its anchor.
      expect(
        await rows(
          db,
          sql`select writer, day::text as day from audit.checkpoints where day < ${days[2]!}::date order by writer`,
        ),
      ).toEqual([
        { writer: 'w1', day: days[1] },
        { writer: 'w2', day: days[1] },
      ]);

      const intact = await verifyChain({ db: db.db, checkpointKeys: KEYS });
      expect(intact.problems).toEqual([]);
      expect(intact).toMatchObject({ ok: true, events: 18, segments: 6, held: { events: 4, days: 2 } });
      expect(intact.anchor).toEqual({
        kind: 'horizon',
        horizon: days[2],
        writers: [
          { writer: 'w1', day: days[1], count: 3 },
          { writer: 'w2', day: days[1], count: 3 },
        ],
      });

      // A held copy is checked against its own hash.
      await db.db.execute(
        sql`update audit.held_events set details = '{"i":999}' where id = (select id from audit.held_events order by id limit 1)`,
      );
      const heldTampered = await verifyChain({ db: db.db, checkpointKeys: KEYS });
      expect(heldTampered.problems).toEqual([
        expect.objectContaining({ reason: 'modified', detail: expect.stringContaining('held copy') }),
      ]);
      await db.db.execute(sql`delete from audit.held_events`);

      // A day inside the kept range deleted by hand: its checkpoint counts events that are gone.
      await db.db.execute(sql`delete from audit.events where day = ${days[3]!}::date and writer = 'w1'`);
      const deleted = await verifyChain({ db: db.db, checkpointKeys: KEYS });
      expect(deleted.ok).toBe(false);
      expect(deleted.problems).toContainEqual(
        expect.objectContaining({ writer: 'w1', day: days[3], reason: 'missing' }),
      );
      // Its checkpoint deleted too: the next day links to a segment that is not there.
      await db.db.execute(sql`delete from audit.checkpoints where day = ${days[3]!}::date and writer = 'w1'`);
      const hidden = await verifyChain({ db: db.db, checkpointKeys: KEYS });
      expect(hidden.problems).toContainEqual(
        expect.objectContaining({ writer: 'w1', day: days[4], reason: 'segment-missing' }),
      );
      // The oldest kept day deleted by hand, with its checkpoint, does not pass for a purge either.
      await db.db.execute(sql`delete from audit.events where day = ${days[2]!}::date and writer = 'w2'`);
      await db.db.execute(sql`delete from audit.checkpoints where day = ${days[2]!}::date and writer = 'w2'`);
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).problems).toContainEqual(
        expect.objectContaining({ writer: 'w2', day: days[3], reason: 'segment-missing' }),
      );
      // Nor does a horizon moved by someone without the key.
      await db.db.execute(sql`update audit.horizon set day = ${days[4]!}::date`);
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).problems).toContainEqual(
        expect.objectContaining({ reason: 'horizon-mismatch' }),
      );
    },
  );

  it.skipIf(skip)('never drops a day of the last week, whatever it is asked', async () => {
    const db = await fresh();
    const today = new Date().toISOString().slice(0, 10);
    await seedDays(db, 3, 2);
    await expect(
      purgeServerLogs({ db: db.db, checkpointKeys: KEYS, beforeDay: addDays(today, 1), limit: 10, dryRun: false }),
    ).rejects.toThrow(/too recent/);
    expect(await count(db, sql`select count(*) as n from audit.events`)).toBe(12);
  });

  it.skipIf(skip).each([2, 3] as const)(
    'keeps an unpartitioned log working (purged in batches) until migrate-partitions moves it, resumably, while a writer (format %i) writes and erases',
    async (chainVersion) => {
      const { db, upgrade } = await legacyDatabase(server);
      open.push(db);
      const days = await seedDays(db, 100, 4);
      await upgrade();
      // A database that held events keeps its layout: no replica rewrites it at startup.
      expect(await eventsLayout(db.db)).toBe('unpartitioned');
      await placeHold(db.db, 'acct-held');

      // Retention deletes in batches there, copying held events first; the horizon moves the same way.
      const purge = () =>
        purgeServerLogs({ db: db.db, checkpointKeys: KEYS, beforeDay: days[1]!, limit: 4, dryRun: false });
      expect(await purge()).toEqual({ rows: 4, partitions: 0, done: false });
      expect(await purge()).toEqual({ rows: 2, partitions: 0, done: true });
      expect(await count(db, sql`select count(*) as n from audit.held_events`)).toBe(2);
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).ok).toBe(true);

      // A writer of this version writes to the old layout too.
      const c = clock(new Date(Date.now() - 2 * DAY).toISOString());
      const live = writer(db.db, { writer: 'w3', now: c.now, chainVersion });
      for (let i = 0; i < 5; i++) live.append(securityInput(100 + i, 'acct-erase'));
      await live.flush();

      // Stopped after one batch (as a killed run would be), then writes and an erasure meanwhile.
      expect(await migratePartitions(db.db, { batchSize: 5, maxBatches: 1 })).toMatchObject({
        status: 'partial',
        copied: 5,
      });
      for (let i = 0; i < 5; i++) live.append(securityInput(200 + i, 'acct-erase'));
      await live.flush();
      expect(await eraseSubject(db.db, live, 'acct-erase')).toBe(10);
      const before = await count(db, sql`select count(*) as n from audit.events`);

      const done = await migratePartitions(db.db, { batchSize: 5 });
      expect(done).toMatchObject({ status: 'done', legacyKept: true });
      expect(await eventsLayout(db.db)).toBe('partitioned');
      expect(await count(db, sql`select count(*) as n from audit.events`)).toBe(before);
      expect(await count(db, sql`select count(*) as n from audit.events_legacy`)).toBe(before);
      expect(
        await count(
          db,
          sql`select count(*) as n from audit.events where subject_id = 'acct-erase' or (erased_by is not null and (personal_salt is not null or personal_salt_bytes is not null or user_agent_id is not null))`,
        ),
      ).toBe(0);
      expect(await count(db, sql`select count(*) as n from pg_trigger where tgname like 'hf_mirror_%'`)).toBe(0);
      // The writer goes on into the partitioned table, and the chains verify across the move.
      for (let i = 0; i < 3; i++) live.append(securityInput(300 + i, 'acct-2'));
      await live.close();
      const result = await verifyChain({ db: db.db, checkpointKeys: KEYS });
      expect(result.problems).toEqual([]);
      expect(result.anchor.kind).toBe('horizon');
      expect(await migratePartitions(db.db)).toMatchObject({ status: 'already' });
      // Retention now drops days.
      const total = { rows: 0, partitions: 0 };
      for (let step = { done: false }; !step.done;) {
        const s = await purgeServerLogs({
          db: db.db,
          checkpointKeys: KEYS,
          beforeDay: days[2]!,
          limit: 5000,
          dryRun: false,
        });
        total.rows += s.rows;
        total.partitions += s.partitions;
        step = s;
      }
      // The day already purged row by row (its partition empty) and the day after it.
      expect(total).toEqual({ rows: 6, partitions: 2 });
      expect((await verifyChain({ db: db.db, checkpointKeys: KEYS })).ok).toBe(true);
    },
  );
});
