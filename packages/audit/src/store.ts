/**
 * Reads of `audit.events` and `audit.checkpoints` (the query API: store-query.ts; erasure:
 * store-erase.ts; the selection they share: store-select.ts). Batches are written by writes.ts.
 *
 * Every read returns events in one shape (`AuditEvent`) whatever their format: a format-3 row's
 * interned values are joined back (writer, method and route, user agent and its parsed fields),
 * its NULL kind and action stand for an access event, and its bytea hashes, digest and salt come
 * back as hex text, so an exported or listed event looks as before.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { AuditEvent } from './event.js';
import { uuidv7Floor } from './ids.js';
import { checkpoints, events, heldEvents as heldTable, heldReleased as heldReleasedTable, writers } from './schema.js';
import { writeUnnest, type Checkpoint } from './writes.js';
import { selectEvents, type EventTable } from './store-select.js';

export type { Checkpoint } from './writes.js';
export { pgArray } from './pg-array.js';
// stream-read.ts and fastify.ts reach these through store.ts.
export { selectEvents } from './store-select.js';
export type { EventQuery } from './store-query.js';

/**
 * Writes events (formats 1 and 2) and upserts checkpoints in one statement (writes.ts has every
 * form; this one is kept for callers of the package's earlier API).
 */
export async function writeBatch(
  db: Database,
  batch: readonly AuditEvent[],
  marks: readonly Checkpoint[],
): Promise<void> {
  if (batch.some((e) => e.chainVersion === 3))
    throw Object.assign(new TypeError('writeBatch takes format 1 and 2 events; the writer writes format 3'), {
      code: 'HF_AUDIT_INVALID_OPTION',
    });
  await writeUnnest(db, batch, [], marks, null);
}

/**
 * Events in id order (each writer's chain order), within a range of days, after `afterId`, one
 * page at a time (verification). The day range also bounds the id, with a day of slack either side.
 */
export function eventsPage(
  db: Database,
  afterId: string | null,
  limit: number,
  from?: string,
  to?: string,
): Promise<AuditEvent[]> {
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
  return selectEvents(db, events)
    .where(and(...where))
    .orderBy(asc(events.id))
    .limit(limit) as Promise<AuditEvent[]>;
}

/** Every checkpoint within [from, to]. */
export function listCheckpoints(db: Database, from?: string, to?: string): Promise<Checkpoint[]> {
  return db
    .select({
      writer: checkpoints.writer,
      day: checkpoints.day,
      count: checkpoints.count,
      lastHash: checkpoints.lastHash,
      closed: checkpoints.closed,
      mac: checkpoints.mac,
    })
    .from(checkpoints)
    .where(and(from ? gte(checkpoints.day, from) : undefined, to ? sql`${checkpoints.day} <= ${to}` : undefined));
}

export async function readCheckpoint(db: Database, writer: string, day: string): Promise<Checkpoint | null> {
  const [row] = await db
    .select({
      writer: checkpoints.writer,
      day: checkpoints.day,
      count: checkpoints.count,
      lastHash: checkpoints.lastHash,
      closed: checkpoints.closed,
      mac: checkpoints.mac,
    })
    .from(checkpoints)
    .where(and(eq(checkpoints.writer, writer), eq(checkpoints.day, day)));
  return row ?? null;
}

/** A subject's events, oldest first, then their held copies (personal-data export). */
export async function* subjectEvents(db: Database, subjectId: string, pageSize = 250): AsyncGenerator<AuditEvent> {
  yield* subjectPages(db, events, subjectId, pageSize);
  yield* subjectPages(db, heldTable, subjectId, pageSize);
}

async function* subjectPages(
  db: Database,
  table: EventTable,
  subjectId: string,
  pageSize: number,
): AsyncGenerator<AuditEvent> {
  // Keyset pages on the (subject_id, id) index: an export of 100,000 events holds one page at a time.
  // Small pages: a page outlives a young-generation collection or two while it is written out, and
  // what survives is promoted; 1,000-event pages grew the old generation (and RSS) by 30 MB.
  let after: string | undefined;
  for (;;) {
    const page = (await selectEvents(db, table)
      .where(
        after === undefined ? eq(table.subjectId, subjectId) : and(eq(table.subjectId, subjectId), gt(table.id, after)),
      )
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
    const page = (await selectEvents(db, heldTable)
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
    const rows = await db
      .select({ id: events.id, hash: sql<string>`coalesce(${events.hash}, encode(${events.hashBytes}, 'hex'))` })
      .from(events)
      .where(inArray(events.id, ids.slice(i, i + 1000) as string[]));
    for (const r of rows) found.set(r.id, r.hash);
  }
  return found;
}

/** The ids of a subject's events not yet erased, in id order. */
export async function subjectEventIds(
  db: Database,
  subjectId: string,
): Promise<{ id: string; chainVersion: number }[]> {
  return db
    .select({ id: events.id, chainVersion: events.chainVersion })
    .from(events)
    .where(and(eq(events.subjectId, subjectId), isNull(events.erasedAt)))
    .orderBy(asc(events.id));
}

/** The erasure records (`audit.subject.erased` events) with these erasure ids, wherever they are. */
export async function erasureRecords(db: Database, erasureIds: readonly string[]): Promise<AuditEvent[]> {
  return securityRecords(db, ERASURE_ACTION, 'erasureId', erasureIds);
}

/** Security events of `action` whose `details[key]` is one of `values` (the records of erasures, releases...). */
export async function securityRecords(
  db: Database,
  action: string,
  key: string,
  values: readonly string[],
): Promise<AuditEvent[]> {
  if (!values.length) return [];
  return (await selectEvents(db, events).where(
    and(
      eq(events.action, action),
      eq(events.kind, 'security'),
      inArray(sql`${events.details}->>${key}`, values as string[]),
    ),
  )) as AuditEvent[];
}

/** Held copies that went when their holds ended (`audit.held_released`), in id order, a page at a time. */
export async function* heldReleased(
  db: Database,
  pageSize = 5000,
): AsyncGenerator<{ id: string; day: string; hash: string; releaseId: string; releasedAt: Date }> {
  let after: string | undefined;
  for (;;) {
    const page = await db
      .select({
        id: heldReleasedTable.id,
        day: heldReleasedTable.day,
        hash: heldReleasedTable.hash,
        releaseId: heldReleasedTable.releaseId,
        releasedAt: heldReleasedTable.releasedAt,
      })
      .from(heldReleasedTable)
      .where(after === undefined ? undefined : gt(heldReleasedTable.id, after))
      .orderBy(asc(heldReleasedTable.id))
      .limit(pageSize);
    yield* page;
    if (page.length < pageSize) return;
    after = page.at(-1)!.id;
  }
}

/**
 * The hash of the event before `e` in its segment (a format-3 row keeps its link only on a
 * segment's first event), or null when it is not stored. For checking an event read on its own.
 */
export async function linkOf(db: Database, e: AuditEvent): Promise<string | null> {
  if (e.prevHash) return e.prevHash;
  const [row] = await db
    .select({ hash: sql<string>`coalesce(${events.hash}, encode(${events.hashBytes}, 'hex'))` })
    .from(events)
    .leftJoin(writers, eq(writers.id, events.writerId))
    .where(
      and(
        eq(events.day, e.day),
        eq(events.seq, e.seq - 1),
        sql`coalesce(${events.writer}, ${writers.name}) = ${e.writer}`,
        lt(events.id, e.id),
      ),
    )
    .orderBy(desc(events.id))
    .limit(1);
  return row?.hash ?? null;
}

export const ERASURE_ACTION = 'audit.subject.erased';
