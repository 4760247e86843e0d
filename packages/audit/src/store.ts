/**
 * Reads and writes of `audit.events` and `audit.checkpoints`. A batch is one statement: the rows
 * travel as one Postgres array per column and are expanded by UNNEST (the fastest of the forms
 * measured in bench/ingest.ts that can be idempotent), and the segment checkpoints are upserted by
 * the same statement, so events and their checkpoint commit together or not at all.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { AuditInvalidQuery } from './errors.js';
import { canonicalJson, type AuditEvent } from './event.js';
import { uuidv7Floor } from './ids.js';
import { checkpoints, events, heldEvents as heldTable } from './schema.js';

export interface Checkpoint {
  writer: string;
  day: string;
  count: number;
  lastHash: string;
  closed: boolean;
  mac: string;
}

/** Postgres array literals of text elements: every element quoted, `"` and `\` escaped, null as NULL. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPE = /["\\]/g;
/** A Postgres array literal of one column of `rows`: built in one pass, no intermediate array. */
export function pgArray<T>(rows: readonly T[], get: (row: T) => string | null): string {
  let out = '{';
  for (let i = 0; i < rows.length; i++) {
    const v = get(rows[i]!);
    if (i) out += ',';
    // Most values (ids, hashes, names) need no escaping: test before paying for a replace.
    out += v === null || v === undefined ? 'NULL' : NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPE, '\\$&')}"` : `"${v}"`;
  }
  return out + '}';
}

const str = (v: string | null) => v;
const num = (v: number | null) => (v === null ? null : String(v));
const COLUMNS: [string, string, (e: AuditEvent) => string | null][] = [
  ['id', 'uuid', (e) => e.id],
  ['occurred_at', 'timestamptz', (e) => e.occurredAt.toISOString()],
  ['writer', 'text', (e) => e.writer],
  ['day', 'date', (e) => e.day],
  ['seq', 'int4', (e) => String(e.seq)],
  ['kind', 'text', (e) => e.kind],
  ['action', 'text', (e) => e.action],
  ['resource', 'text', (e) => str(e.resource)],
  ['outcome', 'text', (e) => str(e.outcome)],
  ['request_id', 'text', (e) => str(e.requestId)],
  ['method', 'text', (e) => str(e.method)],
  ['route', 'text', (e) => str(e.route)],
  ['path', 'text', (e) => str(e.path)],
  ['status', 'int2', (e) => num(e.status)],
  ['duration_ms', 'float8', (e) => num(e.durationMs)],
  ['subject_id', 'text', (e) => str(e.subjectId)],
  ['ip', 'text', (e) => str(e.ip)],
  ['ip_invalid', 'bool', (e) => (e.ipInvalid ? 't' : 'f')],
  ['user_agent', 'text', (e) => str(e.userAgent)],
  ['browser_name', 'text', (e) => str(e.browserName)],
  ['browser_version', 'text', (e) => str(e.browserVersion)],
  ['os_name', 'text', (e) => str(e.osName)],
  ['os_version', 'text', (e) => str(e.osVersion)],
  ['device_type', 'text', (e) => str(e.deviceType)],
  ['details', 'jsonb', (e) => (e.details === null || e.details === undefined ? null : canonicalJson(e.details))],
  ['personal_salt', 'text', (e) => str(e.personalSalt)],
  ['personal_digest', 'text', (e) => e.personalDigest],
  ['prev_hash', 'text', (e) => e.prevHash],
  ['hash', 'text', (e) => e.hash],
  ['chain_version', 'int2', (e) => String(e.chainVersion)],
];
const COLUMN_LIST = sql.raw(COLUMNS.map(([name]) => `"${name}"`).join(', '));

/**
 * Writes events and upserts checkpoints in one statement. Idempotent: an event already stored
 * (same id) is skipped, and a checkpoint only moves forward (a replayed older batch cannot roll
 * back a newer checkpoint).
 */
export async function writeBatch(db: Database, batch: readonly AuditEvent[], marks: readonly Checkpoint[]): Promise<void> {
  const arrays = COLUMNS.map(([, type, get]) => sql`${pgArray(batch, get)}::${sql.raw(type)}[]`);
  const insertEvents = sql`insert into audit.events (${COLUMN_LIST}) select * from unnest(${sql.join(arrays, sql`, `)}) on conflict do nothing`;
  if (!marks.length) {
    await db.execute(insertEvents);
    return;
  }
  const m = (get: (c: Checkpoint) => string) => pgArray(marks, get);
  await db.execute(sql`with written as (${insertEvents} returning 1)
    insert into audit.checkpoints (writer, day, count, last_hash, closed, mac)
    select * from unnest(${m((c) => c.writer)}::text[], ${m((c) => c.day)}::date[], ${m((c) => String(c.count))}::int4[],
      ${m((c) => c.lastHash)}::text[], ${m((c) => (c.closed ? 't' : 'f'))}::bool[], ${m((c) => c.mac)}::text[])
    on conflict (writer, day) do update set count = excluded.count, last_hash = excluded.last_hash, closed = excluded.closed,
      mac = excluded.mac, updated_at = now()
    where audit.checkpoints.count < excluded.count or (audit.checkpoints.count = excluded.count and excluded.closed and not audit.checkpoints.closed)`);
}

export interface EventQuery {
  subjectId?: string | undefined;
  action?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** 1 to 500; default 100. */
  limit?: number | undefined;
  /** `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

const CURSOR = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Events newest first, filtered, with keyset pagination on the id (UUIDv7, so time order): a page
 * costs an index range scan however deep it is, and events written meanwhile never shift a page.
 * A time range also bounds the id, a second early, so the primary key serves it.
 */
export async function queryEvents(db: Database, query: EventQuery): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new AuditInvalidQuery('"limit" must be an integer from 1 to 500');
  for (const [name, value] of [['from', query.from], ['to', query.to]] as const) {
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))) throw new AuditInvalidQuery(`"${name}" must be a valid date`);
  }
  const where: SQL[] = [];
  if (query.subjectId !== undefined) where.push(eq(events.subjectId, query.subjectId));
  if (query.action !== undefined) {
    where.push(eq(events.action, query.action));
    // Security events have their own (partial) action index; access events are all http.request.
    where.push(eq(events.kind, query.action === 'http.request' ? 'access' : 'security'));
  }
  if (query.from) {
    where.push(gte(events.occurredAt, sql`${query.from.toISOString()}::timestamptz`));
    where.push(sql`${events.id} >= ${uuidv7Floor(query.from.getTime() - 1000)}::uuid`);
  }
  if (query.to) {
    where.push(lt(events.occurredAt, sql`${query.to.toISOString()}::timestamptz`));
    where.push(sql`${events.id} < ${uuidv7Floor(query.to.getTime() + 1000)}::uuid`);
  }
  if (query.cursor !== undefined) {
    if (!CURSOR.test(query.cursor)) throw new AuditInvalidQuery('"cursor" is not one this API returned');
    where.push(sql`${events.id} < ${query.cursor}::uuid`);
  }
  const rows = (await db
    .select()
    .from(events)
    .where(and(...where))
    .orderBy(desc(events.id))
    .limit(limit + 1)) as AuditEvent[];
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { events: page, nextCursor: rows.length > limit && last ? last.id : null };
}

/**
 * Events in id order (each writer's chain order), within a range of days, after `afterId`, one
 * page at a time (verification). The day range also bounds the id, with a day of slack either side.
 */
export function eventsPage(db: Database, afterId: string | null, limit: number, from?: string, to?: string): Promise<AuditEvent[]> {
  const where: SQL[] = [];
  if (afterId) where.push(sql`${events.id} > ${afterId}::uuid`);
  if (from) {
    where.push(gte(events.day, from));
    where.push(sql`${events.id} >= ${uuidv7Floor(Date.parse(`${from}T00:00:00Z`) - 86_400_000)}::uuid`);
  }
  if (to) {
    where.push(sql`${events.day} <= ${to}`);
    where.push(sql`${events.id} < ${uuidv7Floor(Date.parse(`${to}T00:00:00Z`) + 2 * 86_400_000)}::uuid`);
  }
  return db
    .select()
    .from(events)
    .where(and(...where))
    .orderBy(asc(events.id))
    .limit(limit) as Promise<AuditEvent[]>;
}

/** Every checkpoint within [from, to]. */
export function listCheckpoints(db: Database, from?: string, to?: string): Promise<Checkpoint[]> {
  return db
    .select({ writer: checkpoints.writer, day: checkpoints.day, count: checkpoints.count, lastHash: checkpoints.lastHash, closed: checkpoints.closed, mac: checkpoints.mac })
    .from(checkpoints)
    .where(and(from ? gte(checkpoints.day, from) : undefined, to ? sql`${checkpoints.day} <= ${to}` : undefined));
}

export async function readCheckpoint(db: Database, writer: string, day: string): Promise<Checkpoint | null> {
  const [row] = await db
    .select({ writer: checkpoints.writer, day: checkpoints.day, count: checkpoints.count, lastHash: checkpoints.lastHash, closed: checkpoints.closed, mac: checkpoints.mac })
    .from(checkpoints)
    .where(and(eq(checkpoints.writer, writer), eq(checkpoints.day, day)));
  return row ?? null;
}

/** A subject's events, oldest first, then their held copies (personal-data export). */
export async function* subjectEvents(db: Database, subjectId: string, pageSize = 250): AsyncGenerator<AuditEvent> {
  yield* subjectPages(db, events, subjectId, pageSize);
  yield* subjectPages(db, heldTable, subjectId, pageSize);
}

async function* subjectPages(db: Database, table: typeof events | typeof heldTable, subjectId: string, pageSize: number): AsyncGenerator<AuditEvent> {
  // Keyset pages on the (subject_id, id) index: an export of 100,000 events holds one page at a time.
  // Small pages: a page outlives a young-generation collection or two while it is written out, and
  // what survives is promoted; 1,000-event pages grew the old generation (and RSS) by 30 MB.
  let after: string | undefined;
  for (;;) {
    const page = (await db
      .select()
      .from(table)
      .where(after === undefined ? eq(table.subjectId, subjectId) : and(eq(table.subjectId, subjectId), gt(table.id, after)))
      .orderBy(asc(table.id))
      .limit(pageSize)) as AuditEvent[];
    yield* page;
    if (page.length < pageSize) return;
    after = page.at(-1)!.id;
  }
}

/** Every held copy (`audit.held_events`), in id order, a page at a time. */
export async function* heldEvents(db: Database, pageSize = 1000): AsyncGenerator<AuditEvent> {
  let after: string | undefined;
  for (;;) {
    const page = (await db
      .select()
      .from(heldTable)
      .where(after === undefined ? undefined : gt(heldTable.id, after))
      .orderBy(asc(heldTable.id))
      .limit(pageSize)) as AuditEvent[];
    yield* page;
    if (page.length < pageSize) return;
    after = page.at(-1)!.id;
  }
}

/** The hashes of those of `ids` that are stored (spill replay: what a file overlaps). */
export async function storedHashes(db: Database, ids: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await db.select({ id: events.id, hash: events.hash }).from(events).where(inArray(events.id, ids.slice(i, i + 1000) as string[]));
    for (const r of rows) found.set(r.id, r.hash);
  }
  return found;
}

/** The ids of a subject's events not yet erased, in id order. */
export async function subjectEventIds(db: Database, subjectId: string): Promise<{ id: string; chainVersion: number }[]> {
  return db
    .select({ id: events.id, chainVersion: events.chainVersion })
    .from(events)
    .where(and(eq(events.subjectId, subjectId), isNull(events.erasedAt)))
    .orderBy(asc(events.id));
}

/** SHA-256 over ids joined by newlines: what an erasure record states about the events it erased. */
export function idsDigest(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\n')).digest('hex');
}

/**
 * Erasure of the listed events of one subject (all in one transaction): subject id, IP, user agent
 * and salt, and for version-2 events path, resource and details too, which version 1 hashes in
 * clear. The personal digest stays, so the chain still verifies; without the salt it cannot be
 * reversed. `erasedBy` names the erasure record (an `audit.subject.erased` event) that covers them.
 */
export async function eraseEvents(db: Database, subjectId: string, list: readonly { id: string; chainVersion: number }[], erasedBy: string): Promise<number> {
  let erased = 0;
  await db.transaction(async (tx) => {
    for (const version of [1, 2]) {
      const ids = list.filter((e) => (version === 1 ? e.chainVersion === 1 : e.chainVersion !== 1)).map((e) => e.id);
      const set = version === 1
        ? { subjectId: null, ip: null, userAgent: null, personalSalt: null, erasedAt: sql`now()`, erasedBy }
        : { subjectId: null, ip: null, userAgent: null, path: null, resource: null, details: null, personalSalt: null, erasedAt: sql`now()`, erasedBy };
      for (let i = 0; i < ids.length; i += 5000) {
        const rows = await tx
          .update(events)
          .set(set)
          .where(and(inArray(events.id, ids.slice(i, i + 5000)), eq(events.subjectId, subjectId)))
          .returning({ id: events.id });
        erased += rows.length;
      }
      // Held copies (a hold kept them past their day, then was released) are erased alike.
      await tx
        .update(heldTable)
        .set(set)
        .where(and(eq(heldTable.subjectId, subjectId), version === 1 ? eq(heldTable.chainVersion, 1) : sql`${heldTable.chainVersion} <> 1`));
    }
  });
  return erased;
}

/** The erasure records (`audit.subject.erased` events) with these erasure ids, wherever they are. */
export async function erasureRecords(db: Database, erasureIds: readonly string[]): Promise<AuditEvent[]> {
  if (!erasureIds.length) return [];
  return (await db
    .select()
    .from(events)
    .where(and(eq(events.action, ERASURE_ACTION), eq(events.kind, 'security'), inArray(sql`${events.details}->>'erasureId'`, erasureIds as string[])))) as AuditEvent[];
}

export const ERASURE_ACTION = 'audit.subject.erased';
