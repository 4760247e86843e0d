/** `fastify.audit.query`: events newest first, filtered, keyset-paginated (GET /v1/audit/events). */
import type { Database } from '@harakaflow/db';
import { and, desc, eq, gte, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { AuditInvalidQuery } from './errors.js';
import type { AuditEvent } from './event.js';
import { uuidv7Floor } from './ids.js';
import { events } from './schema.js';

import { selectEvents } from './store-select.js';

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

/**
 * The statement queryEvents runs (one more row than `limit`, to tell whether a next page exists), checked: tests
 * EXPLAIN it.
 */
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
