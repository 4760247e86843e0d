/**
 * The delivery log (issue 34 item 1), as plain functions on the database: an endpoint's deliveries
 * newest first, filtered by status, event and creation time, in pages (keyset on `(created_at, id)`
 * behind an opaque cursor), and one delivery with its payload. Each delivery shows its latest
 * attempts (time, status code or error code, duration, at most 1 KiB of the answer).
 *
 * Every read names the account: another account's endpoint or delivery is not found (null), the
 * same answer as one that does not exist. Bad filters throw HF_WEBHOOK_INVALID_QUERY (400) before
 * any query, so nothing malformed reaches Postgres.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, desc, eq, getTableColumns, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import { InvalidQuery } from './errors.js';
import { attempts, deliveries, endpoints } from './schema.js';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'held', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface AttemptView {
  attemptedAt: string;
  /** The endpoint's HTTP status; null when there was no answer (then `error`). */
  statusCode: number | null;
  /** An error code (ETIMEDOUT, ECONNREFUSED, HF_WEBHOOK_DESTINATION_REFUSED...), never a message. */
  error: string | null;
  durationMs: number;
  /** At most 1 KiB of the answer's body, signatures and secrets removed. */
  response: string | null;
}

export interface DeliveryView {
  id: string;
  endpointId: string;
  /** The `webhook-id` header: the same on every attempt and every resend, for the receiver's de-duplication. */
  webhookId: string;
  event: string;
  status: string;
  createdAt: string;
  deliveredAt: string | null;
  /** When it is tried next (pending only). */
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** Every attempt ever made; `attempts` lists the latest of them, oldest first. */
  attemptCount: number;
  attempts: AttemptView[];
}

export interface DeliveryDetail extends DeliveryView {
  /** The event as it was signed and sent: `{ type, timestamp, data }`. */
  payload: unknown;
}

export interface DeliveryFilter {
  status?: string | undefined;
  event?: string | undefined;
  /** Created at or after (ISO 8601, or a Date). */
  from?: string | Date | undefined;
  /** Created before. */
  to?: string | Date | undefined;
  cursor?: string | undefined;
  /** 1 to 100; default 50. */
  limit?: number | undefined;
}

/** Attempts shown per delivery: in a page of the log, and for one delivery. */
export const ATTEMPTS_IN_LIST = 10;
export const ATTEMPTS_IN_DETAIL = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURSOR = /^[A-Za-z0-9_-]{1,120}$/;
/** A creation time to the microsecond, as Postgres keeps it (a JavaScript Date has milliseconds only). */
const CURSOR_TIME = /^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** The Standard Webhooks message id of a delivery: `msg_` and its id without dashes. */
export const webhookMessageId = (deliveryId: string) => `msg_${deliveryId.replace(/-/g, '')}`;

/** An RFC 3339 date-time with its offset (a time without one would be read in the server's zone). */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * A time given to a query: a Date, or an RFC 3339 date-time with its offset, a real calendar date
 * (a Date would read 30 February as 2 March), within 1970 to 9999 (what Postgres and a Date both
 * hold). Anything else is HF_WEBHOOK_INVALID_QUERY naming `name`.
 */
export function queryTime(name: string, value: string | Date): Date {
  let at = new Date(Number.NaN);
  if (value instanceof Date) at = value;
  else if (typeof value === 'string') {
    const m = DATE_TIME.exec(value);
    const day = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
    if (m && day!.getUTCMonth() === Number(m[2]) - 1 && day!.getUTCDate() === Number(m[3])) at = new Date(value);
  }
  const year = at.getUTCFullYear();
  if (Number.isNaN(at.getTime()) || year < 1970 || year > 9999)
    throw new InvalidQuery(`"${name}" must be an ISO 8601 date-time with its offset, between 1970 and 9999`);
  return at;
}

const creationTime = sql<string>`to_char(${deliveries.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function encodeCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  const refused = () => new InvalidQuery('"cursor" is not one this log gave');
  if (typeof cursor !== 'string' || !CURSOR.test(cursor)) throw refused();
  const [at = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  // The date must be a real one (a 30 February would reach Postgres and fail there).
  const ms = CURSOR_TIME.test(at) ? new Date(`${at.slice(0, 23)}Z`) : null;
  if (rest.length || !ms || Number.isNaN(ms.getTime()) || ms.toISOString() !== `${at.slice(0, 23)}Z` || !isUuid(id))
    throw refused();
  return { at, id };
}

type Row = typeof deliveries.$inferSelect;

function view(d: Omit<Row, 'payload'>, found: { list: AttemptView[]; count: number } | undefined): DeliveryView {
  return {
    id: d.id,
    endpointId: d.endpointId,
    webhookId: webhookMessageId(d.id),
    event: d.eventType,
    status: d.status,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    nextAttemptAt: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    attemptCount: found?.count ?? 0,
    attempts: found?.list ?? [],
  };
}

/** The latest `perDelivery` attempts of each delivery (oldest first), and how many each has in all: one statement. */
async function attemptsOf(
  db: Database,
  ids: string[],
  perDelivery: number,
): Promise<Map<string, { list: AttemptView[]; count: number }>> {
  const found = new Map<string, { list: AttemptView[]; count: number }>();
  if (!ids.length) return found;
  const ranked = db
    .select({
      deliveryId: attempts.deliveryId,
      attemptedAt: attempts.attemptedAt,
      statusCode: attempts.statusCode,
      error: attempts.error,
      durationMs: attempts.durationMs,
      response: attempts.responseExcerpt,
      n: sql<number>`(row_number() over (partition by ${attempts.deliveryId} order by ${attempts.attemptedAt} desc, ${attempts.id} desc))::int`.as(
        'n',
      ),
      total: sql<number>`(count(*) over (partition by ${attempts.deliveryId}))::int`.as('total'),
    })
    .from(attempts)
    .where(inArray(attempts.deliveryId, ids))
    .as('ranked');
  const rows = await db
    .select()
    .from(ranked)
    .where(lte(ranked.n, perDelivery))
    .orderBy(asc(ranked.deliveryId), desc(ranked.n));
  for (const r of rows) {
    const entry = found.get(r.deliveryId) ?? { list: [], count: Number(r.total) };
    entry.list.push({
      attemptedAt: new Date(r.attemptedAt).toISOString(),
      statusCode: r.statusCode,
      error: r.error,
      durationMs: r.durationMs,
      response: r.response,
    });
    found.set(r.deliveryId, entry);
  }
  return found;
}

/** The filter checked: HF_WEBHOOK_INVALID_QUERY for anything it does not know. */
function checkFilter(filter: DeliveryFilter, eventTypes: ReadonlySet<string>) {
  if (filter.status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(filter.status))
    throw new InvalidQuery(`"status" must be one of ${DELIVERY_STATUSES.join(', ')}`);
  if (filter.event !== undefined && !eventTypes.has(filter.event))
    throw new InvalidQuery(`"event" must be one of ${[...eventTypes].join(', ')}`);
  const from = filter.from === undefined ? undefined : queryTime('from', filter.from);
  const to = filter.to === undefined ? undefined : queryTime('to', filter.to);
  if (from && to && from > to) throw new InvalidQuery('"from" is after "to"');
  const limit = filter.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new InvalidQuery('"limit" must be a whole number from 1 to 100');
  const cursor = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor);
  return { from, to, limit, cursor };
}

/**
 * A page of an endpoint's deliveries, newest first, or null when the account has no such endpoint.
 * `nextCursor` continues after the page's last delivery (null: no more).
 */
export async function listDeliveries(
  db: Database,
  accountId: string,
  endpointId: string,
  filter: DeliveryFilter,
  eventTypes: ReadonlySet<string>,
): Promise<{ deliveries: DeliveryView[]; nextCursor: string | null } | null> {
  const f = checkFilter(filter, eventTypes);
  if (!isUuid(endpointId)) return null;
  const [owned] = await db
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(and(eq(endpoints.id, endpointId), eq(endpoints.accountId, accountId)));
  if (!owned) return null;
  const where: SQL[] = [eq(deliveries.endpointId, endpointId), eq(deliveries.accountId, accountId)];
  if (filter.status !== undefined) where.push(eq(deliveries.status, filter.status));
  if (filter.event !== undefined) where.push(eq(deliveries.eventType, filter.event));
  if (f.from) where.push(gte(deliveries.createdAt, f.from));
  if (f.to) where.push(lt(deliveries.createdAt, f.to));
  if (f.cursor)
    where.push(sql`(${deliveries.createdAt}, ${deliveries.id}) < (${f.cursor.at}::timestamptz, ${f.cursor.id}::uuid)`);
  const { payload: _payload, ...columns } = getTableColumns(deliveries);
  const rows = await db
    .select({ ...columns, at: creationTime })
    .from(deliveries)
    .where(and(...where))
    .orderBy(desc(deliveries.createdAt), desc(deliveries.id))
    .limit(f.limit + 1);
  const page = rows.slice(0, f.limit);
  const found = await attemptsOf(
    db,
    page.map((d) => d.id),
    ATTEMPTS_IN_LIST,
  );
  const last = page.at(-1);
  return {
    deliveries: page.map((d) => view(d, found.get(d.id))),
    nextCursor: rows.length > f.limit && last ? encodeCursor(last.at, last.id) : null,
  };
}

/** One delivery of the account, with its payload and latest attempts; null when the account has none by that id. */
export async function getDelivery(db: Database, accountId: string, id: string): Promise<DeliveryDetail | null> {
  if (!isUuid(id)) return null;
  const [d] = await db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.id, id), eq(deliveries.accountId, accountId)));
  if (!d) return null;
  const found = await attemptsOf(db, [d.id], ATTEMPTS_IN_DETAIL);
  return { ...view(d, found.get(d.id)), payload: JSON.parse(d.payload) as unknown };
}
