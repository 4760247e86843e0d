/**
 * An ascending read of the log after a cursor (issue 33 item 5: an account's or the operator's
 * stream to a SIEM), in the one `AuditEvent` shape every read returns (store.ts' selection, so
 * format-3 rows come back with their interned values). Read when the events are delivered, never
 * earlier: an event erased meanwhile comes back erased.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, eq, gte, inArray, sql, type SQL } from 'drizzle-orm';
import { AuditInvalidQuery } from './errors.js';
import type { AuditEvent } from './event.js';
import { events } from './schema.js';
import { selectEvents } from './store.js';

export { uuidv7Floor } from './ids.js';

export interface EventsAfterQuery {
  /** Events with an id greater than this (a UUIDv7, or `uuidv7Floor(ms)`). */
  after: string;
  /** ... and less than this: what is old enough to be committed (the caller's settle bound). */
  before: string;
  /** Only this subject's events (the `(subject_id, id)` index). */
  subjectId?: string | undefined;
  /** Only security events of this action (the security action index). */
  action?: string | undefined;
  /** Security actions left out, as `query`'s `exceptActions` (access events are never left out). */
  exceptActions?: readonly string[] | undefined;
  /** 1 to 1000. */
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 86_400_000;

/** The time (epoch ms) a UUIDv7 was made at. */
export const uuidv7Time = (id: string): number => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

/**
 * Events oldest first (id order) with `after < id < before`, filtered. The day partitions before
 * the day of `after` less one are not read (an id is made when its event is chained, at most
 * seconds after it occurred; the day is the event's own).
 */
export async function eventsAfter(db: Database, q: EventsAfterQuery): Promise<AuditEvent[]> {
  if (!UUID.test(q.after) || !UUID.test(q.before)) throw new AuditInvalidQuery('"after" and "before" must be UUIDs');
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000)
    throw new AuditInvalidQuery('"limit" must be an integer from 1 to 1000');
  const where: SQL[] = [sql`${events.id} > ${q.after}::uuid`, sql`${events.id} < ${q.before}::uuid`];
  where.push(gte(events.day, new Date(Math.max(0, uuidv7Time(q.after) - DAY_MS)).toISOString().slice(0, 10)));
  if (q.subjectId !== undefined) where.push(eq(events.subjectId, q.subjectId));
  if (q.action !== undefined) where.push(eq(events.action, q.action), eq(events.kind, 'security'));
  const except = q.exceptActions ?? [];
  if (except.length > 50) throw new AuditInvalidQuery('"exceptActions" must be a list of at most 50 action names');
  // A format-3 access event has a NULL action (and kind): kept, never compared (as queryEvents).
  if (except.length)
    where.push(
      sql`(${events.kind} is distinct from 'security' or ${events.action} is null or not (${inArray(events.action, except as string[])}))`,
    );
  return (await selectEvents(db, events)
    .where(and(...where))
    .orderBy(asc(events.id))
    .limit(q.limit)) as AuditEvent[];
}
