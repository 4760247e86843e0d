// A subject's own trail (issue 33 item 4): `query({ subjectId })` reads the (subject_id, id) index
// of each day partition, newest first, and never scans a partition, however many days are kept and
// however busy the other subjects are; `exceptActions` leaves security actions out, never access
// events (a format-3 access event has no action stored).
import { postgresUrl, testDatabase, type TestDatabase } from '@harakaflow/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMigrations } from '../src/index.js';
import { eventsStatement, queryEvents, type EventQuery } from '../src/store-query.js';
import { securityInput, writer } from './helpers.js';

const DAYS = 95;
const PER_DAY = 3000;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Partitions scanned whole that had anything to read (an empty partition, a day made ahead, may be "scanned": it has no page). */
const seqScans = (plan: PlanNode) =>
  nodes(plan).filter(
    (n) =>
      n['Node Type'] === 'Seq Scan' &&
      n['Relation Name']?.startsWith('events_') &&
      (n['Shared Hit Blocks'] ?? 0) + (n['Shared Read Blocks'] ?? 0) > 0,
  );

/** EXPLAIN (ANALYZE, BUFFERS) of the statement `queryEvents` runs for `q`. */
async function explain(db: TestDatabase, q: EventQuery): Promise<{ plan: PlanNode; text: string }> {
  const { sql: text, params } = eventsStatement(db.db, q).statement.toSQL();
  // The parameters inlined as literals (strings and numbers only here): EXPLAIN takes no binds through drizzle's execute.
  const inlined = text.replace(/\$(\d+)/g, (_, n: string) => {
    const v = params[Number(n) - 1];
    return typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
  });
  const result = (await db.db.execute(sql.raw(`explain (analyze, buffers, format json) ${inlined}`))) as unknown as
    { 'QUERY PLAN': [{ Plan: PlanNode }] }[] | { rows: { 'QUERY PLAN': [{ Plan: PlanNode }] }[] };
  const rows = Array.isArray(result) ? result : result.rows;
  const plan = rows[0]!['QUERY PLAN'][0].Plan;
  return { plan, text: JSON.stringify(plan) };
}

describe.skipIf(!postgresUrl)("a subject's trail on real Postgres", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase({ migrations: [auditMigrations] });
    // 95 UTC days kept (the 90-day period and the days made ahead), 3,000 events a day of 500
    // other subjects and anonymous clients, and 2 a day of the subject read: straight into the
    // partitions, as format-1 rows (the query reads every format alike).
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const first = new Date(today - (DAYS - 4) * 86_400_000).toISOString().slice(0, 10);
    const last = new Date(today + 3 * 86_400_000).toISOString().slice(0, 10);
    await db.db.execute(sql`select audit.ensure_day_partitions(${first}::date, ${last}::date)`);
    await db.db.execute(
      sql.raw(`
      insert into audit.events (id, occurred_at, writer, day, seq, kind, action, subject_id, hash, personal_digest, prev_hash)
      select (lpad(to_hex((extract(epoch from t) * 1000)::bigint), 12, '0') || '7' || substr(md5(g::text), 1, 3) || '8' || substr(md5(g::text), 4, 15))::uuid,
             t, 'w-bulk', (t at time zone 'utc')::date, g,
             case when g % 7 = 0 then 'security' else 'access' end,
             case when g % 7 = 0 then 'test.event' else 'http.request' end,
             case when g % ${PER_DAY / 2} = 0 then 'acct-target' when g % 3 = 0 then null else 'acct-' || (g % 500) end,
             'h', 'd', 'p'
      from generate_series(1, ${DAYS * PER_DAY}) as g,
           lateral (select '${first}'::timestamptz + (g::float8 / ${PER_DAY}) * interval '1 day' as t) as x
      where t < '${last}'::timestamptz
    `),
    );
    await db.db.execute(sql`analyze audit.events`);
  }, 120_000);
  afterAll(() => db?.close());

  it('reads the subject index of each partition, no partition scanned, a few pages of each', async () => {
    const { plan, text } = await explain(db, { subjectId: 'acct-target', limit: 100 });
    const all = nodes(plan);
    expect(seqScans(plan), text.slice(0, 2000)).toEqual([]);
    const scans = all.filter((n) => n['Relation Name']?.startsWith('events_') && n['Node Type'] !== 'Seq Scan');
    expect(scans.length).toBeGreaterThanOrEqual(DAYS - 5);
    for (const s of scans) expect(s['Index Name'], JSON.stringify(s).slice(0, 500)).toMatch(/subject/);
    // One index descent per day partition: about 2 or 3 pages each, not the 3,000 rows of a day.
    const blocks = (plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0);
    expect(blocks).toBeLessThan(DAYS * 8);
  });

  it('keeps to the index with exceptActions, an action, a time range and a cursor', async () => {
    const page = await queryEvents(db.db, { subjectId: 'acct-target', limit: 10 });
    const mid = new Date(Date.now() - 30 * 86_400_000);
    for (const q of [
      { subjectId: 'acct-target', exceptActions: ['test.event', 'other.event'], limit: 100 },
      { subjectId: 'acct-target', action: 'test.event', limit: 100 },
      { subjectId: 'acct-target', from: new Date(Date.now() - 60 * 86_400_000), to: mid, limit: 100 },
      { subjectId: 'acct-target', cursor: page.nextCursor!, limit: 100 },
    ] satisfies EventQuery[]) {
      const { plan, text } = await explain(db, q);
      expect(seqScans(plan), `${JSON.stringify(q)}: ${text.slice(0, 1500)}`).toEqual([]);
      expect((plan['Shared Hit Blocks'] ?? 0) + (plan['Shared Read Blocks'] ?? 0), JSON.stringify(q)).toBeLessThan(
        DAYS * 10,
      );
    }
  });

  it('pages through the whole trail, newest first, once each', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await queryEvents(db.db, { subjectId: 'acct-target', limit: 37, cursor });
      expect(page.events.every((e) => e.subjectId === 'acct-target')).toBe(true);
      seen.push(...page.events.map((e) => e.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort().reverse()).toEqual(seen);
    const stored = (await db.db.execute(
      sql`select count(*)::int as n from audit.events where subject_id = 'acct-target'`,
    )) as unknown as { n: number }[] | { rows: { n: number }[] };
    expect(seen).toHaveLength((Array.isArray(stored) ? stored : stored.rows)[0]!.n);
  });
});

describe('exceptActions', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await testDatabase({ migrations: [auditMigrations] });
  });
  afterAll(() => db?.close());

  it('leaves the named security actions out, keeps access events of every format, and refuses a malformed list', async () => {
    for (const chainVersion of [2, 3] as const) {
      const w = writer(db.db, { writer: `w${chainVersion}`, chainVersion });
      w.append({ ...securityInput(1, 'acct-x'), action: 'retention.hold.placed' });
      w.append({ ...securityInput(2, 'acct-x'), action: 'consent.granted' });
      w.append({ ...securityInput(3, 'acct-x'), kind: 'access', action: 'http.request' });
      await w.close();
    }
    const all = await queryEvents(db.db, { subjectId: 'acct-x' });
    expect(all.events.map((e) => e.action).sort()).toEqual([
      'consent.granted',
      'consent.granted',
      'http.request',
      'http.request',
      'retention.hold.placed',
      'retention.hold.placed',
    ]);
    const own = await queryEvents(db.db, {
      subjectId: 'acct-x',
      exceptActions: ['retention.hold.placed', 'http.request'],
    });
    // 'http.request' names access events, which are never left out.
    expect(own.events.map((e) => e.action).sort()).toEqual([
      'consent.granted',
      'consent.granted',
      'http.request',
      'http.request',
    ]);
    expect((await queryEvents(db.db, { subjectId: 'acct-x', exceptActions: [] })).events).toHaveLength(6);
    for (const bad of [[''], Array.from({ length: 51 }, (_, i) => `a.${i}`), 'retention.hold.placed', [1]]) {
      await expect(queryEvents(db.db, { subjectId: 'acct-x', exceptActions: bad as string[] })).rejects.toMatchObject({
        code: 'HF_AUDIT_INVALID_QUERY',
      });
    }
  });
});
