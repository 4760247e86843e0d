/**
 * Reads of `audit.events` and `audit.checkpoints`, and erasure. Batches are written by writes.ts.
 *
 * Every read returns events in one shape (`AuditEvent`) whatever their format: a format-3 row's
 * interned values are joined back (writer, method and route, user agent and its parsed fields),
 * its NULL kind and action stand for an access event, and its bytea hashes, digest and salt come
 * back as hex text, so an exported or listed event looks as before.
 */
import { resultRows, type Database } from '@harakaflow/db';
import { and, asc, desc, eq, gt, gte, inArray, isNull, lt, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { AuditInvalidQuery } from './errors.js';
import type { AuditEvent } from './event.js';
import { personalDigestOf } from './format3.js';
import { uuidv7Floor } from './ids.js';
import { pgArray } from './pg-array.js';
import {
  checkpoints,
  events,
  heldEvents as heldTable,
  heldReleased as heldReleasedTable,
  routes,
  userAgents,
  writers,
} from './schema.js';
import { writeUnnest, type Checkpoint } from './writes.js';

export type { Checkpoint } from './writes.js';
export { pgArray } from './pg-array.js';

type EventTable = typeof events | typeof heldTable;

/** The columns of an event as `AuditEvent`, any format (the tables it joins: see `from`). */
function selection(t: EventTable) {
  const viaRoute = (own: AnyColumn, interned: AnyColumn) =>
    sql<string | null>`case when ${t.routeId} is null then ${own} else nullif(${interned}, '') end`;
  return {
    id: t.id,
    occurredAt: t.occurredAt,
    writer: sql<string>`coalesce(${t.writer}, ${writers.name})`,
    day: t.day,
    seq: t.seq,
    kind: sql<string>`coalesce(${t.kind}, 'access')`,
    action: sql<string>`coalesce(${t.action}, 'http.request')`,
    resource: t.resource,
    outcome: t.outcome,
    requestId: t.requestId,
    method: viaRoute(t.method, routes.method),
    route: viaRoute(t.route, routes.route),
    path: t.path,
    status: t.status,
    durationMs: t.durationMs,
    subjectId: t.subjectId,
    ip: t.ip,
    ipInvalid: t.ipInvalid,
    userAgent: sql<string | null>`coalesce(${t.userAgent}, ${userAgents.userAgent})`,
    browserName: sql<string | null>`coalesce(${t.browserName}, ${userAgents.browserName})`,
    browserVersion: sql<string | null>`coalesce(${t.browserVersion}, ${userAgents.browserVersion})`,
    osName: sql<string | null>`coalesce(${t.osName}, ${userAgents.osName})`,
    osVersion: sql<string | null>`coalesce(${t.osVersion}, ${userAgents.osVersion})`,
    deviceType: sql<string | null>`coalesce(${t.deviceType}, ${userAgents.deviceType})`,
    details: t.details,
    personalSalt: sql<string | null>`coalesce(${t.personalSalt}, encode(${t.personalSaltBytes}, 'hex'))`,
    personalDigest: sql<string>`coalesce(${t.personalDigest}, encode(${t.personalDigestBytes}, 'hex'), '')`,
    prevHash: sql<string>`coalesce(${t.prevHash}, encode(${t.prevHashBytes}, 'hex'), '')`,
    hash: sql<string>`coalesce(${t.hash}, encode(${t.hashBytes}, 'hex'))`,
    erasedAt: t.erasedAt,
    chainVersion: t.chainVersion,
    erasedBy: t.erasedBy,
  };
}

/** `select <every column as AuditEvent> from <t> left join <its interned values>`. */
export function selectEvents(db: Database, t: EventTable) {
  return db
    .select(selection(t))
    .from(t as typeof events)
    .leftJoin(writers, eq(writers.id, t.writerId))
    .leftJoin(routes, eq(routes.id, t.routeId))
    .leftJoin(userAgents, eq(userAgents.id, t.userAgentId));
}

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

export interface EventQuery {
  subjectId?: string | undefined;
  action?: string | undefined;
  /**
   * Security actions left out of the answer (a subject's own view of its trail leaves out the
   * operator's records about it). At most 50 names; access events are never left out.
   */
  exceptActions?: readonly string[] | undefined;
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
export async function queryEvents(
  db: Database,
  query: EventQuery,
): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
  const { statement, limit } = eventsStatement(db, query);
  const rows = (await statement) as AuditEvent[];
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { events: page, nextCursor: rows.length > limit && last ? last.id : null };
}

/** The statement queryEvents runs (one more row than `limit`, to tell whether a next page exists), checked: tests EXPLAIN it. */
export function eventsStatement(db: Database, query: EventQuery) {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw new AuditInvalidQuery('"limit" must be an integer from 1 to 500');
  for (const [name, value] of [
    ['from', query.from],
    ['to', query.to],
  ] as const) {
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime())))
      throw new AuditInvalidQuery(`"${name}" must be a valid date`);
  }
  const where: SQL[] = [];
  if (query.subjectId !== undefined) where.push(eq(events.subjectId, query.subjectId));
  if (query.action !== undefined) {
    // Security events have their own (partial) action index; access events are all http.request
    // (a format-3 access event keeps neither: its NULL kind says what it is).
    if (query.action === 'http.request')
      where.push(sql`(${events.kind} is null or (${events.kind} = 'access' and ${events.action} = 'http.request'))`);
    else where.push(eq(events.action, query.action), eq(events.kind, 'security'));
  }
  if (query.exceptActions !== undefined) {
    const except = query.exceptActions;
    if (!Array.isArray(except) || except.length > 50 || except.some((a) => typeof a !== 'string' || !a))
      throw new AuditInvalidQuery('"exceptActions" must be a list of at most 50 action names');
    // A format-3 access event has a NULL action (and kind): kept, never compared.
    if (except.length)
      where.push(
        sql`(${events.kind} is distinct from 'security' or ${events.action} is null or not (${inArray(events.action, except as string[])}))`,
      );
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
  const statement = selectEvents(db, events)
    .where(and(...where))
    .orderBy(desc(events.id))
    .limit(limit + 1);
  return { statement, limit };
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

// SHA-256 over ids joined by newlines: what an erasure record states about the events it erased.
export { idsDigest } from './tombstones.js';

/**
 * Erasure of the listed events of one subject (all in one transaction): subject id, IP, user agent
 * and salt, and for version-2 and 3 events path, resource and details too, which version 1 hashes in
 * clear. The personal digest stays, so the chain still verifies; without the salt it cannot be
 * reversed. A version-3 row keeps no digest while its salt can recompute it: erasure computes it
 * from the row (locked) and stores it, nulls `user_agent_id` and lowers the user agent's reference
 * count (retention then purges a user agent nothing references). `erasedBy` names the erasure
 * record (an `audit.subject.erased` event) that covers them.
 */
export async function eraseEvents(
  db: Database,
  subjectId: string,
  list: readonly { id: string; chainVersion: number }[],
  erasedBy: string,
): Promise<number> {
  let erased = 0;
  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    for (const version of [1, 2]) {
      const ids = list.filter((e) => (version === 1 ? e.chainVersion === 1 : e.chainVersion === 2)).map((e) => e.id);
      const set =
        version === 1
          ? { subjectId: null, ip: null, userAgent: null, personalSalt: null, erasedAt: sql`now()`, erasedBy }
          : {
              subjectId: null,
              ip: null,
              userAgent: null,
              path: null,
              resource: null,
              details: null,
              personalSalt: null,
              erasedAt: sql`now()`,
              erasedBy,
            };
      for (let i = 0; i < ids.length; i += 5000) {
        const rows = await tx
          .update(events)
          .set(set)
          .where(and(inArray(events.id, ids.slice(i, i + 5000)), eq(events.subjectId, subjectId)))
          .returning({ id: events.id });
        erased += rows.length;
      }
    }
    // Held copies are not touched here (issue 30 item 1): the app role cannot change them; they go
    // whole once no hold keeps them (`releaseHeldCopies`, which the plugin's eraseSubject calls).
    const v3 = list.filter((e) => e.chainVersion === 3).map((e) => e.id);
    for (let i = 0; i < v3.length; i += 5000)
      erased += await eraseV3(t, events, subjectId, v3.slice(i, i + 5000), erasedBy);
  });
  return erased;
}

/** Erases format-3 rows of `table` (those of `ids`, or every one of the subject's): how many. */
async function eraseV3(
  db: Database,
  table: typeof events,
  subjectId: string,
  ids: readonly string[] | null,
  erasedBy: string,
): Promise<number> {
  // Locked first (FOR UPDATE cannot reach through the outer joins), then read with their interned values.
  const where = and(
    eq(table.subjectId, subjectId),
    eq(table.chainVersion, 3),
    isNull(table.erasedAt),
    ids ? inArray(table.id, ids as string[]) : undefined,
  );
  const locked = await db
    .select({ id: table.id })
    .from(table as typeof events)
    .where(where)
    .for('update');
  if (!locked.length) return 0;
  const rows = (await selectEvents(db, table).where(
    and(
      where,
      inArray(
        table.id,
        locked.map((r) => r.id),
      ),
    ),
  )) as AuditEvent[];
  if (!rows.length) return 0;
  const refs = await db
    .select({ id: events.id, userAgentId: events.userAgentId, writerId: events.writerId, day: events.day })
    .from(events)
    .where(
      and(
        inArray(
          events.id,
          rows.map((r) => r.id),
        ),
        sql`${events.userAgentId} is not null`,
      ),
    );
  const digests = rows.map((r) => personalDigestOf(r));
  // A row whose salt cannot give its digest was tampered with: it is erased all the same, and verify reports it.
  const updated =
    await db.execute(sql`update audit.events e set subject_id = null, ip = null, user_agent_id = null, path = null, resource = null, details = null,
      personal_salt_bytes = null, personal_digest_bytes = coalesce(d.digest, e.personal_digest_bytes), erased_at = now(), erased_by = ${erasedBy}
    from unnest(${pgArray(rows, (r) => r.id)}::uuid[], ${pgArray(digests, (d) => (d ? `\\x${d}` : null))}::bytea[]) as d(id, digest)
    where e.id = d.id and e.subject_id = ${subjectId} returning e.id`);
  if (refs.length) {
    const counts = new Map<string, { ua: number; day: string; writer: number; n: number }>();
    for (const r of refs) {
      const key = `${r.userAgentId}|${r.day}|${r.writerId}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { ua: r.userAgentId!, day: r.day, writer: r.writerId!, n: 1 });
    }
    const list = [...counts.values()];
    await db.execute(sql`update audit.user_agent_refs r set events = r.events - d.n
      from unnest(${pgArray(list, (c) => String(c.ua))}::int4[], ${pgArray(list, (c) => c.day)}::date[], ${pgArray(list, (c) => String(c.writer))}::int4[], ${pgArray(list, (c) => String(c.n))}::int8[]) as d(ua, day, writer, n)
      where r.user_agent_id = d.ua and r.day = d.day and r.writer_id = d.writer`);
  }
  return resultRows(updated).length;
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
