/**
 * Endpoints that fail loudly, and deliveries never dropped silently (issue 34 items 2 and 3), as
 * plain functions on the database.
 *
 * - An active endpoint is disabled (a 410, or every attempt failing for `disableAfterDays`) in one
 *   transaction with its pending deliveries becoming `held`. The update is conditional on `active`,
 *   so of several replicas that see it fail, one disables it and tells the account.
 * - Held deliveries wait for the endpoint to be enabled again, or for their retention class.
 * - Enabling releases them; resend and recover queue delivered or failed ones again.
 *   A delivery queued again keeps its id, so its `webhook-id` is the same (receivers de-duplicate);
 *   it is signed afresh when sent, and starts the retry schedule again.
 * - Whatever chooses between `pending` and `held` for an endpoint reads its status under a share
 *   lock, and enabling changes it under the row lock: a delivery cannot be held just after its
 *   endpoint's held deliveries were released (it would wait until the retention purge).
 * - Deliveries queued in bulk (recover, enable) are not all due now (security review M1): the
 *   dispatcher claims the oldest due first across every account, so 50,000 rows due now would go
 *   ahead of every other account's events. The first 20 are due at once, the rest one every 100 ms
 *   (10 a second), oldest first, after any the account already has waiting: an account's bulk
 *   requeues add about 10 deliveries a second to the queue however many it asks for, and another
 *   account's event waits behind those already due only. A recover queues at most 1,000 a call and
 *   says how many remain.
 */
import { resultRows, type Database } from '@harakaflow/db';
import { and, eq, gte, inArray, isNotNull, lte, sql, type SQL } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { isUuid, queryTime } from './delivery-log.js';
import { DeliveryNotResendable, InvalidQuery } from './errors.js';
import { deliveries, endpoints } from './schema.js';

type EndpointRow = typeof endpoints.$inferSelect;

/** A delivery queued again: due now (held while its endpoint is disabled), from the start of the retry schedule. */
const requeued = (status: 'pending' | 'held', now: Date) => ({
  status,
  attempts: 0,
  nextAttemptAt: now,
  lastError: null,
});

/** Most deliveries one recover queues (the oldest first); the answer's `remaining` says how many more. */
export const RECOVER_BATCH = 1000;
/** Deliveries queued in bulk: the first this many are due at once (one batch of the dispatcher's)... */
export const REQUEUE_AT_ONCE = 20;
/** ...the rest one this many ms after the other (10 a second an account). */
export const REQUEUE_SPACING_MS = 100;

/**
 * Queues again (as `status`, from the start of the retry schedule) the deliveries `where` selects,
 * oldest first, at most `limit`: the first REQUEUE_AT_ONCE due at the start, the rest one
 * REQUEUE_SPACING_MS after the other; the start is now, or just after the last delivery the account
 * has waiting and not yet attempted, whichever is later (so calls in a row queue behind each other).
 * One statement, counting the rows without returning them; each is checked against `where` again
 * when it is updated (one that changed meanwhile is left as it is). Returns how many.
 */
async function requeueInTurn(
  tx: { execute: Database['execute'] },
  accountId: string,
  where: SQL,
  status: 'pending' | 'held',
  now: Date,
  limit?: number,
): Promise<number> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const spacing = sql.raw(`interval '${REQUEUE_SPACING_MS} milliseconds'`); // constants of ours, inlined
  const result = await tx.execute(sql`
    with chosen as (
      select ${deliveries.id} as id, ${deliveries.createdAt} as created_at from ${deliveries}
      where ${where} order by ${deliveries.createdAt}, ${deliveries.id} ${limit === undefined ? sql`` : sql`limit ${limit}`}
      for update
    ), numbered as (
      select id, row_number() over (order by created_at, id) - 1 as n from chosen
    ), start as (
      select greatest(${at}, max(${deliveries.nextAttemptAt}) + ${spacing}) as at from ${deliveries}
      where ${deliveries.accountId} = ${accountId} and ${deliveries.status} = 'pending' and ${deliveries.attempts} = 0
    ), queued as (
      update ${deliveries} set status = ${status}, attempts = 0, last_error = null, next_attempt_at = (select at from start) + greatest(numbered.n - ${sql.raw(String(REQUEUE_AT_ONCE - 1))}, 0)::float8 * ${spacing}
      from numbered where ${deliveries.id} = numbered.id and ${where}
      returning 1
    )
    select count(*)::int as n from queued`);
  return Number(resultRows<{ n: number }>(result)[0]?.n ?? 0);
}

/** The claim's count given back: the row was looked at, not attempted. */
const unclaimed = sql`greatest(${deliveries.attempts} - 1, 0)`;

/** What a disabled endpoint's deliveries become. */
const queueStatus = (endpointStatus: string): 'pending' | 'held' =>
  endpointStatus === 'disabled' ? 'held' : 'pending';

/**
 * Disables an active endpoint and holds its pending deliveries (those being sent right now too: one
 * that succeeds is recorded delivered, one that fails is held at its next claim). `failingBefore`:
 * only if it has been failing since then. Null when it was not active (another replica was first).
 */
export async function disableEndpoint(
  db: Database,
  endpointId: string,
  reason: string,
  now: Date,
  failingBefore?: Date,
): Promise<{ endpoint: EndpointRow; held: number } | null> {
  return db.transaction(async (tx) => {
    const [endpoint] = await tx
      .update(endpoints)
      .set({ status: 'disabled', disabledReason: reason, updatedAt: now })
      .where(
        and(
          eq(endpoints.id, endpointId),
          eq(endpoints.status, 'active'),
          failingBefore ? lte(endpoints.failingSince, failingBefore) : undefined,
        ),
      )
      .returning();
    if (!endpoint) return null;
    const held = await tx
      .update(deliveries)
      .set({ status: 'held' })
      .where(and(eq(deliveries.endpointId, endpointId), eq(deliveries.status, 'pending')))
      .returning({ id: deliveries.id });
    return { endpoint, held: held.length };
  });
}

/**
 * A claimed delivery whose endpoint was not active when the batch read it: held if the endpoint is
 * disabled, cancelled if it was deleted, due again at once if it was enabled meanwhile.
 */
export async function settleInactive(
  db: Database,
  d: { id: string; endpointId: string },
  now: Date,
): Promise<'held' | 'cancelled' | 'due'> {
  return db.transaction(async (tx) => {
    const [e] = await tx
      .select({ status: endpoints.status })
      .from(endpoints)
      .where(eq(endpoints.id, d.endpointId))
      .for('share');
    const outcome = !e ? 'cancelled' : e.status === 'disabled' ? 'held' : 'due';
    const set: PgUpdateSetSource<typeof deliveries> =
      outcome === 'cancelled'
        ? { status: 'cancelled', lastError: 'endpoint deleted' }
        : outcome === 'held'
          ? { status: 'held', attempts: unclaimed }
          : { nextAttemptAt: now, attempts: unclaimed };
    await tx.update(deliveries).set(set).where(eq(deliveries.id, d.id));
    return outcome;
  });
}

/** Of these endpoints, those still disabled, read under a share lock held until the caller's transaction ends. */
export async function stillDisabled(tx: Database, ids: readonly string[]): Promise<Set<string>> {
  const rows = await tx
    .select({ id: endpoints.id })
    .from(endpoints)
    .where(and(inArray(endpoints.id, [...ids]), eq(endpoints.status, 'disabled')))
    .for('share');
  return new Set(rows.map((r) => r.id));
}

/**
 * Since when the endpoint has failed every attempt (set by this failure if it is the first); null if it is not active.
 */
export async function noteFailure(db: Database, endpointId: string, now: Date): Promise<Date | null> {
  const [row] = await db
    .update(endpoints)
    .set({ failingSince: sql`coalesce(${endpoints.failingSince}, ${now.toISOString()}::timestamptz)` })
    .where(and(eq(endpoints.id, endpointId), eq(endpoints.status, 'active')))
    .returning({ failingSince: endpoints.failingSince });
  return row?.failingSince ?? null;
}

/** A success ends the endpoint's run of failures. */
export async function noteSuccess(db: Database, endpointId: string): Promise<void> {
  await db
    .update(endpoints)
    .set({ failingSince: null })
    .where(and(eq(endpoints.id, endpointId), isNotNull(endpoints.failingSince)));
}

/**
 * Enables the account's endpoint: a disabled one becomes active (its failure clock reset), and its
 * held deliveries are released (the first 20 due now, the rest spread out: requeueInTurn). A
 * paused one (its account's deletion pending) stays paused. Null when the account has no such
 * endpoint.
 */
export async function enableEndpoint(
  db: Database,
  accountId: string,
  id: string,
  now: Date,
): Promise<{ endpoint: EndpointRow; released: number } | null> {
  if (!isUuid(id)) return null;
  return db.transaction(async (tx) => {
    const [found] = await tx
      .select()
      .from(endpoints)
      .where(and(eq(endpoints.id, id), eq(endpoints.accountId, accountId)))
      .for('update');
    if (!found) return null;
    if (found.status === 'paused') return { endpoint: found, released: 0 };
    let endpoint = found;
    if (found.status === 'disabled') {
      [endpoint = found] = await tx
        .update(endpoints)
        .set({ status: 'active', disabledReason: null, failingSince: null, updatedAt: now })
        .where(eq(endpoints.id, id))
        .returning();
    }
    const released = await requeueInTurn(
      tx,
      accountId,
      and(eq(deliveries.endpointId, id), eq(deliveries.status, 'held'))!,
      'pending',
      now,
    );
    return { endpoint, released };
  });
}

/**
 * Queues one of the account's delivered or failed deliveries again (held if its endpoint is
 * disabled). Null when the account has no such delivery; HF_WEBHOOK_DELIVERY_NOT_RESENDABLE (409)
 * when it is pending, held or cancelled, or its endpoint was deleted.
 */
export async function resendDelivery(
  db: Database,
  accountId: string,
  id: string,
  now: Date,
): Promise<'pending' | 'held' | null> {
  if (!isUuid(id)) return null;
  return db.transaction(async (tx) => {
    const [d] = await tx
      .select({ status: deliveries.status, endpointId: deliveries.endpointId })
      .from(deliveries)
      .where(and(eq(deliveries.id, id), eq(deliveries.accountId, accountId)))
      .for('update');
    if (!d) return null;
    if (d.status === 'pending') throw new DeliveryNotResendable('it is pending: it is being sent already');
    if (d.status === 'held') throw new DeliveryNotResendable('it is held: it is sent when its endpoint is enabled');
    if (d.status !== 'delivered' && d.status !== 'failed')
      throw new DeliveryNotResendable(`it is ${d.status} (its endpoint was deleted)`);
    const [e] = await tx
      .select({ status: endpoints.status })
      .from(endpoints)
      .where(eq(endpoints.id, d.endpointId))
      .for('share');
    if (!e) throw new DeliveryNotResendable('its endpoint was deleted');
    const status = queueStatus(e.status);
    await tx.update(deliveries).set(requeued(status, now)).where(eq(deliveries.id, id));
    return status;
  });
}

/**
 * Queues again the failed deliveries of the account's endpoint created at or after `since` (held if
 * the endpoint is disabled), the oldest RECOVER_BATCH of them; `remaining`: how many more a next call
 * would queue. Null when the account has no such endpoint; HF_WEBHOOK_INVALID_QUERY for a `since`
 * that is not a date-time or is in the future.
 */
export async function recoverEndpoint(
  db: Database,
  accountId: string,
  id: string,
  since: string | Date,
  now: Date,
): Promise<{ queued: number; remaining: number; status: 'pending' | 'held' } | null> {
  const from = queryTime('since', since);
  if (from > now) throw new InvalidQuery('"since" is in the future');
  if (!isUuid(id)) return null;
  return db.transaction(async (tx) => {
    const [e] = await tx
      .select({ status: endpoints.status })
      .from(endpoints)
      .where(and(eq(endpoints.id, id), eq(endpoints.accountId, accountId)))
      .for('share');
    if (!e) return null;
    const status = queueStatus(e.status);
    const failed = and(
      eq(deliveries.endpointId, id),
      eq(deliveries.accountId, accountId),
      eq(deliveries.status, 'failed'),
      gte(deliveries.createdAt, from),
    )!;
    const queued = await requeueInTurn(tx, accountId, failed, status, now, RECOVER_BATCH);
    const [left] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(deliveries)
      .where(failed);
    return { queued, remaining: Number(left?.n ?? 0), status };
  });
}
