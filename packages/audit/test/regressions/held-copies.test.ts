// Issue 30 item 1: the retention functions took the held subjects and the release date from their
// caller, so anyone allowed to call them (the least-privilege app role) could drop an expired day
// before the runner with an empty list (the held subject's events never copied), release every
// held copy (`release_held_events('2999-01-01', '{}')`), and verify said nothing: held copies were
// checked only against their own hash. Now the functions read the holds themselves, a copy goes only
// once its hold's release is a chained event (and under a chained release record), and each
// dropped day's copies are checked against a record signed when the day was dropped. The role's
// own privileges (no UPDATE or DELETE on the copies) are tested by the reference app's
// test/regressions/least-privilege-role.test.ts; this file tests the functions on PGlite and Postgres.
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditMigrations } from '../../src/index.js';
import { purgeServerLogs } from '../../src/partitions.js';
import { releaseHeldCopies } from '../../src/partitions-held.js';
import { chainedRecorder, eraseSubject } from '../../src/plugin-personal-data.js';
import { verifyChain } from '../../src/verify.js';
import type { AuditWriter } from '../../src/writer.js';
import { clock, KEYS, placeHold, releaseHold, retentionHoldsMigrations, securityInput, writer } from '../helpers.js';

const DAY = 86_400_000;
/** The database's message, through drizzle's wrapping of a failed query. */
const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (error) {
    return `${(error as Error).message} ${String((error as { cause?: Error }).cause?.message)}`;
  }
  return 'no error';
};

const drivers = [
  ['PGlite', undefined],
  ['Postgres', postgresUrl],
] as const;

describe.each(drivers)('held copies of audit events on %s', (name, server) => {
  const skip = name === 'Postgres' && !server;
  let db: TestDatabase;
  beforeAll(async () => {
    if (!skip) db = await testDatabase({ migrations: [auditMigrations, retentionHoldsMigrations], serverUrl: server });
  });
  afterAll(() => db?.close());
  // Every test seeds its own days (the writer makes again the partitions an earlier test dropped).
  beforeEach(() => db?.truncate('audit', 'retention'));

  /** 4 days of events 30 days back (per day: acct-1, acct-held, anonymous), acct-held held; and a live writer. */
  async function setup(): Promise<{ db: TestDatabase; days: string[]; live: AuditWriter; holdId: string }> {
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const c = clock(new Date(today - 30 * DAY + 3_600_000).toISOString());
    const seed = writer(db.db, { writer: 'seed', now: c.now });
    const days: string[] = [];
    for (let d = 0; d < 4; d++) {
      seed.append(securityInput(d * 3, 'acct-1'));
      seed.append(securityInput(d * 3 + 1, 'acct-held'));
      seed.append(securityInput(d * 3 + 2, null));
      days.push(c.now().toISOString().slice(0, 10));
      c.advance(DAY);
    }
    await seed.close();
    const holdId = await placeHold(db.db, 'acct-held');
    const live = writer(db.db, { writer: 'live' });
    return { db, days, live, holdId };
  }
  const count = async (db: TestDatabase, query: ReturnType<typeof sql>) => {
    const r = (await db.db.execute(query)) as unknown as { n: number | string }[] | { rows: { n: number | string }[] };
    return Number((Array.isArray(r) ? r : r.rows)[0]!.n);
  };
  const verify = (db: TestDatabase) => verifyChain({ db: db.db, checkpointKeys: KEYS });
  /** The retention runner's purge of server logs, to its end. */
  async function runRetention(db: TestDatabase, live: AuditWriter, beforeDay: string) {
    for (let done = false; !done;)
      ({ done } = await purgeServerLogs({
        db: db.db,
        checkpointKeys: KEYS,
        beforeDay,
        limit: 5000,
        dryRun: false,
        record: chainedRecorder(live),
      }));
    await live.flush();
  }

  it.skipIf(skip)(
    'a hold released by hand (no chained release event) still keeps its subject: a drop copies it, and no copy is releasable',
    async () => {
      // The review's attack: the app role may UPDATE retention.holds (the API's release). It released
      // the hold by hand, dropped an expired day (nobody held: nothing copied), then put it back.
      const { db, days, holdId } = await setup();
      await db.db.execute(
        sql`update retention.holds set released_at = now() - interval '1 day' where id = ${holdId}::uuid`,
      );
      await db.db.execute(sql`select audit.drop_day_partition(${days[0]!}::date)`);
      expect(await count(db, sql`select count(*) as n from audit.held_events where subject_id = 'acct-held'`)).toBe(1);
      expect(await count(db, sql`select count(*) as n from audit.releasable_held_copies()`)).toBe(0);
      // Nor can the release be undone (the hold put back) or backdated: retention's table sets it once.
      expect(
        await failure(db.db.execute(sql`update retention.holds set released_at = null where id = ${holdId}::uuid`)),
      ).toMatch(/stays released/);
      expect(
        await failure(
          db.db.execute(sql`update retention.holds set released_at = '1970-01-01' where id = ${holdId}::uuid`),
        ),
      ).toMatch(/stays released/);
      expect(
        await failure(
          db.db.execute(sql`update retention.holds set "until" = now() - interval '1 day' where id = ${holdId}::uuid`),
        ),
      ).toMatch(/cannot be changed/);
      expect(await count(db, sql`select count(*) as n from audit.releasable_held_copies()`)).toBe(0);
    },
  );

  it.skipIf(skip)(
    'every SECURITY DEFINER function of the audit schema searches pg_temp last (a caller cannot shadow pg_catalog)',
    async () => {
      const { db } = await setup();
      const unsafe = await db.db
        .execute(sql`select p.oid::regprocedure::text as f from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'audit' and p.prosecdef and not exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%pg_temp')`);
      expect(Array.isArray(unsafe) ? unsafe : (unsafe as unknown as { rows: unknown[] }).rows).toEqual([]);
      expect(
        await count(
          db,
          sql`select count(*) as n from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'audit' and p.prosecdef`,
        ),
      ).toBeGreaterThan(5);
    },
  );

  it.skipIf(skip)(
    'a caller’s empty list of held subjects no longer keeps them from being copied, and the previous version’s release deletes nothing',
    async () => {
      const { db, days, live } = await setup();
      // What the role could do before the runner: drop an expired day, saying nobody is held.
      await db.db.execute(sql`select audit.drop_day_partition(${days[0]!}::date, '{}'::text[])`);
      expect(await count(db, sql`select count(*) as n from audit.held_events where subject_id = 'acct-held'`)).toBe(1);
      expect(await count(db, sql`select count(*) as n from audit.held_events where subject_id <> 'acct-held'`)).toBe(0);
      // ... and release every held copy, with a date far ahead and nobody held.
      expect(await count(db, sql`select audit.release_held_events('2999-01-01'::date, '{}'::text[]) as n`)).toBe(0);
      await db.db.execute(sql`select audit.drop_day_partition(${days[1]!}::date)`);
      expect(await count(db, sql`select count(*) as n from audit.held_events`)).toBe(2);

      // Days dropped outside the runner: their records are the database's, not signed.
      const before = await verify(db);
      expect(before.problems.filter((p) => p.reason.startsWith('held-'))).toEqual([
        expect.objectContaining({ reason: 'held-unsigned', day: days[0] }),
        expect.objectContaining({ reason: 'held-unsigned', day: days[1] }),
      ]);
      // The next real run signs them (their copies match), saying so in the chain, and moves the
      // horizon past them: nothing was lost, and verify says so.
      await runRetention(db, live, days[2]!);
      const after = await verify(db);
      expect(after.problems).toEqual([]);
      expect(after).toMatchObject({
        ok: true,
        held: { events: 2, days: 2, released: 0 },
        anchor: { kind: 'horizon', horizon: days[2] },
      });
      expect(await count(db, sql`select count(*) as n from audit.events where action = 'audit.held.adopted'`)).toBe(1);
      await live.close();
    },
  );

  it.skipIf(skip)(
    'verify checks the held copies against the signed record of their day: a copy deleted, rewritten or added is reported',
    async () => {
      const { db, days, live } = await setup();
      await runRetention(db, live, days[3]!);
      expect(await verify(db)).toMatchObject({ ok: true, held: { events: 3, days: 3 } });

      // (As the tables' owner: the app role can change neither the copies nor the records.)
      await db.db.execute(sql`delete from audit.held_events where day = ${days[0]!}::date`);
      await db.db.execute(
        sql`update audit.held_events set hash = repeat('0', 64), hash_bytes = null where day = ${days[1]!}::date`,
      );
      await db.db.execute(sql`update audit.held_days set count = count + 1 where day = ${days[2]!}::date`);
      const broken = await verify(db);
      expect(broken.ok).toBe(false);
      const held = broken.problems.filter((p) => p.reason.startsWith('held-')).map((p) => [p.reason, p.day]);
      expect(held).toEqual(
        expect.arrayContaining([
          ['held-missing', days[0]],
          ['held-mismatch', days[1]], // the copy's hash is not the one recorded
          ['held-mismatch', days[2]], // the record's signature no longer holds
          ['held-missing', days[2]],
        ]),
      );
      // A copy of a day that has no record.
      await db.db.execute(sql`delete from audit.held_days where day = ${days[1]!}::date`);
      expect((await verify(db)).problems).toContainEqual(
        expect.objectContaining({
          reason: 'held-mismatch',
          day: days[1],
          detail: expect.stringContaining('no record'),
        }),
      );
      await live.close();
    },
  );

  it.skipIf(skip)(
    'a copy goes only once its hold’s release is a chained event, under a chained release record, leaving its id and hash',
    async () => {
      const { db, days, live, holdId } = await setup();
      await runRetention(db, live, days[2]!);
      expect(await count(db, sql`select count(*) as n from audit.held_events`)).toBe(2);

      // Released in the table only (as the role could): no chained retention.hold.released, so the copies stay.
      await releaseHold(db.db, null, holdId, 'acct-held');
      expect(await releaseHeldCopies(db.db, chainedRecorder(live))).toBe(0);
      await runRetention(db, live, days[2]!);
      expect(await count(db, sql`select count(*) as n from audit.held_events`)).toBe(2);
      // Nor does the database function release anything without a chained release record.
      expect(
        await failure(
          db.db.execute(
            sql`select audit.release_held_copies(${randomUUID()}::uuid, array(select id from audit.held_events))`,
          ),
        ),
      ).toMatch(/no chained record/);

      // Released through the API: the chained event, then the next run releases them.
      await releaseHold(db.db, live, holdId, 'acct-held');
      await runRetention(db, live, days[2]!);
      expect(await count(db, sql`select count(*) as n from audit.held_events`)).toBe(0);
      expect(await count(db, sql`select count(*) as n from audit.held_released`)).toBe(2);
      expect(await count(db, sql`select count(*) as n from audit.events where action = 'audit.held.released'`)).toBe(1);
      const released = await verify(db);
      expect(released.problems).toEqual([]);
      expect(released.held).toEqual({ events: 0, days: 2, released: 2 });

      // The released copies' ids and hashes still add up to their days' records.
      await db.db.execute(sql`delete from audit.held_released where day = ${days[0]!}::date`);
      expect((await verify(db)).problems).toContainEqual(
        expect.objectContaining({ reason: 'held-missing', day: days[0] }),
      );
      await live.close();
    },
  );

  it.skipIf(skip)(
    'an erasure leaves a held subject’s copies as they are, and releases them once the hold is released',
    async () => {
      const { db, days, live, holdId } = await setup();
      await runRetention(db, live, days[2]!);
      await eraseSubject(db.db, live, 'acct-held');
      expect(
        await count(
          db,
          sql`select count(*) as n from audit.held_events where subject_id = 'acct-held' and erased_at is null`,
        ),
      ).toBe(2);
      await releaseHold(db.db, live, holdId, 'acct-held');
      await eraseSubject(db.db, live, 'acct-held');
      expect(await count(db, sql`select count(*) as n from audit.held_events`)).toBe(0);
      await live.flush();
      expect((await verify(db)).problems).toEqual([]);
      await live.close();
    },
  );

  it.skipIf(skip)('a hold on the whole class stops every drop and every release, whoever calls', async () => {
    const { db, days } = await setup();
    await placeHold(db.db, null, { className: 'server_logs' });
    expect(await failure(db.db.execute(sql`select audit.drop_day_partition(${days[0]!}::date, '{}'::text[])`))).toMatch(
      /legal hold/,
    );
    expect(await failure(db.db.execute(sql`select audit.drop_day_partition(${days[0]!}::date)`))).toMatch(/legal hold/);
    expect(await count(db, sql`select count(*) as n from audit.releasable_held_copies()`)).toBe(0);
    expect(await count(db, sql`select count(*) as n from audit.events where day = ${days[0]!}::date`)).toBe(3);
  });
});
