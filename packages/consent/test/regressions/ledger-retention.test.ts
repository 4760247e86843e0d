// Issue 30 item 4: the consent ledger kept every visitor's IP and user agent forever; consent.records
// had no retention class. Now `consent_ledger`: a row's IP and user agent are erased 90 days after
// it was written; a decision is kept while it is its browser's current choice and 3 years after;
// the append-only trigger lets exactly that through consent.purge_ledger, whose periods a caller
// cannot shorten. Follow-up (drizzle/0004): the function read the held subjects from its caller, so
// the app's role could pass '{}' and erase a held subject's rows; it now reads retention.holds itself.
import { retentionClasses, type RetentionClass } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import { testDatabase, type TestDatabase } from '@harakaflow/testing';
import { asc, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DECISION_MAX_AGE_DAYS, LEDGER_PERSONAL_DAYS, LEDGER_PROOF_DAYS } from '../../src/index.js';
import { records as consentRecords } from '../../src/schema.js';
import { consentApp, consentMigrations } from '../helpers.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

let database: TestDatabase;
let app: FastifyInstance;
let ledgerClass: RetentionClass;
beforeAll(async () => {
  database = await testDatabase({ migrations: [consentMigrations] });
  await createHoldsTable(database);
  app = await consentApp(database);
  ledgerClass = retentionClasses(app).find((c) => c.name === 'consent_ledger')!;
});
afterAll(async () => {
  await app?.close();
  await database.close();
});
beforeEach(async () => {
  await database.truncate('consent');
  await database.truncate('retention');
});

const regclass = async (db: TestDatabase, name: string) =>
  resultRows<{ r: string | null }>(await db.db.execute(sql`select to_regclass(${name})::text as r`))[0]!.r;

/**
 * @harakaflow/retention's legal holds (its drizzle/0000, the columns the function reads and the rest),
 * when its migrations are not applied here: consent is tested alone.
 */
async function createHoldsTable(db: TestDatabase): Promise<void> {
  if (await regclass(db, 'retention.holds')) return;
  await db.db.execute(sql.raw('create schema if not exists "retention"'));
  await db.db.execute(
    sql.raw(`create table "retention"."holds" (
      "id" uuid primary key not null, "subject_id" text, "class" text, "reason" text not null,
      "until" timestamp with time zone, "created_by" text not null, "created_at" timestamp with time zone not null,
      "released_by" text, "released_at" timestamp with time zone)`),
  );
}

/** Places a legal hold the way the retention package does: a subject, a class, or both. */
async function hold(h: { subjectId?: string; class?: string; until?: Date; releasedAt?: Date }): Promise<string> {
  const id = randomUUID();
  await database.db.execute(
    sql`insert into retention.holds (id, subject_id, "class", reason, until, created_by, created_at, released_by, released_at)
        values (${id}, ${h.subjectId ?? null}, ${h.class ?? null}, 'litigation', ${h.until?.toISOString() ?? null}::timestamptz, 'legal@example.test', now(),
                ${h.releasedAt ? 'legal@example.test' : null}, ${h.releasedAt?.toISOString() ?? null}::timestamptz)`,
  );
  return id;
}

interface Seed {
  consentId?: string;
  subjectId?: string | null;
  action?: string;
  ageMs: number;
  tag: string;
}

/** Inserts rows written `ageMs` ago; the tag goes in the user agent's place (the IP is always set). */
async function seed(rows: Seed[]): Promise<void> {
  const now = Date.now();
  await database.db.insert(consentRecords).values(
    rows.map((r) => ({
      id: randomUUID(),
      consentId: r.consentId ?? `c-${r.tag}`,
      subjectId: r.subjectId ?? null,
      action: r.action ?? 'grant',
      source: 'user',
      policyVersion: '2025-01-01',
      categories: ['analytics'],
      ip: '203.0.113.9',
      userAgent: `UA ${r.tag}`,
      createdAt: new Date(now - r.ageMs),
    })),
  );
}

const all = () => database.db.select().from(consentRecords).orderBy(asc(consentRecords.createdAt));
/** One batch of the class, as the retention runner calls it. */
const purge = (o: { dryRun?: boolean; held?: string[]; limit?: number; now?: number } = {}) =>
  ledgerClass.purgeBatch!({
    cutoff: new Date((o.now ?? Date.now()) - LEDGER_PERSONAL_DAYS * DAY),
    planCutoffs: new Map(),
    limit: o.limit ?? 1000,
    dryRun: o.dryRun ?? false,
    heldSubjects: o.held ?? [],
  });

describe('the consent_ledger retention class', () => {
  it('is registered by the plugin: 90 days, with a purge and an oldest row', () => {
    expect(ledgerClass).toMatchObject({ name: 'consent_ledger', periodDays: 90 });
    expect(ledgerClass.policyClause).toMatch(/§4/);
    expect(typeof ledgerClass.purgeBatch).toBe('function');
  });

  it('erases the IP and user agent of a row 90 days and an hour old, not of one 90 days less an hour old; the decision stays', async () => {
    await seed([
      { tag: 'old', ageMs: 90 * DAY + HOUR },
      { tag: 'young', ageMs: 90 * DAY - HOUR },
    ]);
    expect(await ledgerClass.oldest!()).toEqual(expect.any(Date));
    expect(await purge({ dryRun: true })).toEqual({ rows: 1, done: true });
    expect((await all()).every((r) => r.ip !== null)).toBe(true); // a dry run changes nothing
    expect(await purge()).toMatchObject({ rows: 1, done: true });
    const rows = await all();
    expect(rows.map((r) => [r.consentId, r.ip, r.userAgent, r.categories, r.action])).toEqual([
      ['c-old', null, null, ['analytics'], 'grant'],
      ['c-young', '203.0.113.9', 'UA young', ['analytics'], 'grant'],
    ]);
    expect((await purge()).rows).toBe(0); // nothing left to do
  });

  it('keeps a decision while it is the current choice and 3 years after; an account’s continued use until superseded', async () => {
    const proof = LEDGER_PROOF_DAYS * DAY;
    await seed([
      // One browser: a grant superseded 3 years and a day ago goes; the refusal that replaced it
      // stopped being current 10 days ago and stays; the current grant stays.
      { consentId: 'browser-a', tag: 'a1', ageMs: 5 * 365 * DAY },
      { consentId: 'browser-a', tag: 'a2', ageMs: proof + DAY, action: 'refuse' },
      { consentId: 'browser-a', tag: 'a3', ageMs: 10 * DAY },
      // A browser never seen again: current until its cookie had to be gone (400 days at most).
      { consentId: 'browser-b', tag: 'b-gone', ageMs: proof + DECISION_MAX_AGE_DAYS * DAY + DAY },
      { consentId: 'browser-c', tag: 'c-kept', ageMs: proof + DECISION_MAX_AGE_DAYS * DAY - DAY },
      // An account's acceptance by continued use has no cookie: current until a newer row.
      {
        consentId: 'subject:acct-9',
        subjectId: 'acct-9',
        action: 'continued-use',
        tag: 's-kept',
        ageMs: 6 * 365 * DAY,
      },
    ]);
    let step;
    do step = await purge({ limit: 2 });
    while (!step.done);
    const rows = await all();
    expect(rows.map((r) => r.userAgent ?? r.consentId).sort()).toEqual([
      'UA a3',
      'browser-a',
      'browser-c',
      'subject:acct-9',
    ]);
    // What stays is the decision: who (the subject), what, under which version, when.
    expect(rows.find((r) => r.consentId === 'browser-a' && r.action === 'refuse')).toMatchObject({
      ip: null,
      userAgent: null,
      categories: ['analytics'],
      policyVersion: '2025-01-01',
    });
  });

  it('leaves a held subject’s rows as they are', async () => {
    await seed([
      { consentId: 'held', subjectId: 'acct-held', tag: 'h1', ageMs: 5 * 365 * DAY },
      { consentId: 'held', subjectId: 'acct-held', tag: 'h2', ageMs: 4 * 365 * DAY },
      { consentId: 'free', subjectId: 'acct-free', tag: 'f1', ageMs: 100 * DAY },
    ]);
    await hold({ subjectId: 'acct-held', class: 'consent_ledger' });
    // The runner still passes its held subjects (an array literal that must survive quoting).
    await purge({ held: ['acct-held', 'with "quotes" and \\'] });
    expect((await all()).map((r) => [r.consentId, r.ip])).toEqual([
      ['held', '203.0.113.9'],
      ['held', '203.0.113.9'],
      ['free', null],
    ]);
  });
});

describe('legal holds bind consent.purge_ledger itself, not its caller (drizzle/0004)', () => {
  /** What the least-privilege app role can run: no held subjects, cutoffs as late as it likes. */
  const callerWithoutHolds = async (dryRun = false) =>
    Number(
      resultRows<{ n: number }>(
        await database.db.execute(sql.raw(`select consent.purge_ledger(now(), now(), '{}', 100000, ${dryRun}) as n`)),
      )[0]!.n,
    );
  const state = async () => (await all()).map((r) => [r.userAgent?.slice(3) ?? r.consentId, r.ip]);

  it('keeps a held subject’s old rows, IP, user agent and superseded decision, though the caller passes no held subjects', async () => {
    await seed([
      // Superseded 4 years ago (past the proof period): deleted but for the hold.
      {
        consentId: 'subject:acct-held',
        subjectId: 'acct-held',
        action: 'continued-use',
        tag: 'h1',
        ageMs: 5 * 365 * DAY,
      },
      { consentId: 'subject:acct-held', subjectId: 'acct-held', action: 'grant', tag: 'h2', ageMs: 4 * 365 * DAY },
      // A hold on every class (no class) keeps this one too.
      { consentId: 'every', subjectId: 'acct-every', tag: 'e1', ageMs: 200 * DAY },
      { consentId: 'free', subjectId: 'acct-free', tag: 'f1', ageMs: 100 * DAY },
      { consentId: 'anon', tag: 'a1', ageMs: 99 * DAY },
    ]);
    await hold({ subjectId: 'acct-held', class: 'consent_ledger' });
    await hold({ subjectId: 'acct-every' });
    expect(await callerWithoutHolds(true)).toBe(2);
    expect(await callerWithoutHolds()).toBe(2);
    expect(await state()).toEqual([
      ['h1', '203.0.113.9'],
      ['h2', '203.0.113.9'],
      ['e1', '203.0.113.9'],
      ['free', null],
      ['anon', null],
    ]);
  });

  it('does not keep rows for a hold on another class, a released hold or one whose until has passed', async () => {
    await seed([
      { consentId: 'other', subjectId: 'acct-other', tag: 'o', ageMs: 103 * DAY },
      { consentId: 'released', subjectId: 'acct-released', tag: 'r', ageMs: 102 * DAY },
      { consentId: 'expired', subjectId: 'acct-expired', tag: 'x', ageMs: 101 * DAY },
      { consentId: 'kept', subjectId: 'acct-kept', tag: 'k', ageMs: 100 * DAY },
    ]);
    await hold({ subjectId: 'acct-other', class: 'server_logs' });
    await hold({ subjectId: 'acct-released', class: 'consent_ledger', releasedAt: new Date(Date.now() - DAY) });
    await hold({ subjectId: 'acct-expired', class: 'consent_ledger', until: new Date(Date.now() - HOUR) });
    await hold({ subjectId: 'acct-kept', class: 'consent_ledger', until: new Date(Date.now() + DAY) });
    expect(await callerWithoutHolds()).toBe(3);
    expect(await state()).toEqual([
      ['other', null],
      ['released', null],
      ['expired', null],
      ['k', '203.0.113.9'],
    ]);
  });

  it('does nothing at all while the whole class is held, whoever calls it; resumes when the hold is released', async () => {
    await seed([
      { consentId: 'browser-a', tag: 'a1', ageMs: 5 * 365 * DAY },
      { consentId: 'browser-a', tag: 'a2', ageMs: 4 * 365 * DAY },
      { consentId: 'subject:acct-1', subjectId: 'acct-1', tag: 's', ageMs: 200 * DAY },
    ]);
    const id = await hold({ class: 'consent_ledger' });
    expect(await callerWithoutHolds(true)).toBe(0);
    expect(await callerWithoutHolds()).toBe(0);
    expect(await purge()).toEqual({ rows: 0, done: true });
    expect((await all()).every((r) => r.ip === '203.0.113.9' && r.userAgent !== null)).toBe(true);
    expect(await all()).toHaveLength(3);
    // A hold on a whole other class does not stop this one.
    await database.db.execute(
      sql`update retention.holds set released_at = now(), released_by = 'legal@example.test' where id = ${id}`,
    );
    await hold({ class: 'server_logs' });
    // The three IPs go, then a1 (superseded 4 years ago).
    expect(await callerWithoutHolds()).toBe(4);
    expect(await state()).toEqual([
      ['browser-a', null],
      ['subject:acct-1', null],
    ]);
  });
});

describe('consent alone: without retention.holds nothing is held', () => {
  let alone: TestDatabase;
  beforeAll(async () => {
    alone = await testDatabase({ migrations: [consentMigrations] });
  });
  afterAll(() => alone?.close());

  it('the function runs without the retention schema and ignores a caller-given held list', async () => {
    expect(await regclass(alone, 'retention.holds')).toBeNull();
    await alone.db.insert(consentRecords).values({
      id: randomUUID(),
      consentId: 'c',
      subjectId: 'acct-1',
      action: 'grant',
      source: 'user',
      policyVersion: '2025-01-01',
      categories: ['analytics'],
      ip: '203.0.113.9',
      userAgent: 'UA',
      createdAt: new Date(Date.now() - 100 * DAY),
    });
    const [row] = resultRows<{ n: number }>(
      await alone.db.execute(sql`select consent.purge_ledger(now(), now(), '{acct-1}', 10, false) as n`),
    );
    expect(Number(row!.n)).toBe(1);
    expect((await alone.db.select().from(consentRecords))[0]).toMatchObject({ ip: null, userAgent: null });
  });
});

describe('the append-only rule allows exactly this erasure', () => {
  const call = (ipBefore: string, proofBefore: string) =>
    database.db.execute(sql.raw(`select consent.purge_ledger(${ipBefore}, ${proofBefore}, '{}', 1000, false) as n`));

  it('a caller cannot shorten the periods: cutoffs later than the function’s own are ignored', async () => {
    await seed([
      { tag: 'young', ageMs: 10 * DAY },
      { consentId: 'x', tag: 'x1', ageMs: 2 * 365 * DAY },
      { consentId: 'x', tag: 'x2', ageMs: 365 * DAY },
    ]);
    const [row] = resultRows<{ n: number }>(await call(`now() + interval '1 year'`, `now() + interval '1 year'`));
    // Only x1 and x2's IPs (older than 90 days) go; no decision is old enough to delete.
    expect(Number(row!.n)).toBe(2);
    expect((await all()).map((r) => [r.userAgent, r.consentId])).toEqual([
      [null, 'x'],
      [null, 'x'],
      ['UA young', 'c-young'],
    ]);
  });

  it('refuses any other UPDATE or DELETE, also one that only nulls the IP, and one from a DO block', async () => {
    await seed([{ tag: 'old', ageMs: 200 * DAY }]);
    for (const statement of [
      'update consent.records set ip = null, user_agent = null',
      "update consent.records set categories = '{}'",
      'delete from consent.records',
      // A DO block is not the function, whatever its statement quotes.
      'do $$ begin update consent.records set ip = null, user_agent = null /*\nPL/pgSQL function consent.purge_ledger(timestamp with time zone,timestamp with time zone,text[],integer,boolean) line 1 at SQL statement */; end $$',
    ]) {
      await expect(database.db.execute(sql.raw(statement)), statement).rejects.toThrow();
    }
    expect((await all())[0]).toMatchObject({ ip: '203.0.113.9', userAgent: 'UA old', categories: ['analytics'] });
    // The subject's erasure still works as before (replicas of the previous version call it).
    await seed([{ subjectId: 'acct-1', tag: 's', ageMs: DAY }]);
    const [erased] = resultRows<{ n: number }>(
      await database.db.execute(sql`select consent.erase_subject('acct-1') as n`),
    );
    expect(Number(erased!.n)).toBe(1);
  });
});
