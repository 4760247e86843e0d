/**
 * Endpoints that fail loudly, and deliveries never dropped silently (issue 34 items 2 and 3), as
 * plain functions on the database.
 *
 * - An active endpoint is disabled (a 410, or every attempt failing for `disableAfterDays`) in one
 *   transaction with its pending deliveries becoming `held`. The update is conditional on `active`,
 *   so of several replicas that see it fail, one disables it and tells the account.
 * - Held deliveries wait for the endpoint to be enabled again, or for their retention class.
 * - Enabling releases them, due at once; resend and recover queue delivered or failed ones again.
 *   A delivery queued again keeps its id, so its `webhook-id` is the same (receivers de-duplicate);
 *   it is signed afresh when sent, and starts the retry schedule again.
 * - Whatever chooses between `pending` and `held` for an endpoint reads its status under a share
 *   lock, and enabling changes it under the row lock: a delivery cannot be held just after its
 *   endpoint's held deliveries were released (it would wait until the retention purge).
 */
import type { Database } from '@harakaflow/db';
import { and, eq, gte, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { isUuid, queryTime } from './delivery-log.js';
import { DeliveryNotResendable, InvalidQuery } from './errors.js';
import { deliveries, endpoints } from './schema.js';

type EndpointRow = typeof endpoints.$inferSelect;

/** A delivery queued again: due now (held while its endpoint is disabled), from the start of the retry schedule. */
const requeued = (status: 'pending' | 'held', now: Date) => ({ status, attempts: 0, nextAttemptAt: now, lastError: null });

/** The claim's count given back: the row was looked at, not attempted. */
const unclaimed = sql`greatest(${deliveries.attempts} - 1, 0)`;

/** What a disabled endpoint's deliveries become. */
const queueStatus = (endpointStatus: string): 'pending' | 'held' => (endpointStatus === 'disabled' ? 'held' : 'pending');

/**
 * Disables an active endpoint and holds its pending deliveries (those being sent right now too: one
 * that succeeds is recorded delivered, one that fails is held at its next claim). `failingBefore`:
 * only if it has been failing since then. Null when it was not active (another replica was first).
 */
export async function disableEndpoint(db: Database, endpointId: string, reason: string, now: Date, failingBefore?: Date): Promise<{ endpoint: EndpointRow; held: number } | null> {
  return db.transaction(async (tx) => {
    const [endpoint] = await tx
      .update(endpoints)
      .set({ status: 'disabled', disabledReason: reason, updatedAt: now })
      .where(and(eq(endpoints.id, endpointId), eq(endpoints.status, 'active'), failingBefore ? lte(endpoints.failingSince, failingBefore) : undefined))
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
export async function settleInactive(db: Database, d: { id: string; endpointId: string }, now: Date): Promise<'held' | 'cancelled' | 'due'> {
  return db.transaction(async (tx) => {
    const [e] = await tx.select({ status: endpoints.status }).from(endpoints).where(eq(endpoints.id, d.endpointId)).for('share');
    const outcome = !e ? 'cancelled' : e.status === 'disabled' ? 'held' : 'due';
    const set: PgUpdateSetSource<typeof deliveries> =
      outcome === 'cancelled' ? { status: 'cancelled', lastError: 'endpoint deleted' } : outcome === 'held' ? { status: 'held', attempts: unclaimed } : { nextAttemptAt: now, attempts: unclaimed };
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

/** Since when the endpoint has failed every attempt (set by this failure if it is the first); null if it is not active. */
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
  await db.update(endpoints).set({ failingSince: null }).where(and(eq(endpoints.id, endpointId), isNotNull(endpoints.failingSince)));
}

/**
 * Enables the account's endpoint: a disabled one becomes active (its failure clock reset), and its
 * held deliveries are released, due now. A paused one (its account's deletion pending) stays paused.
 * Null when the account has no such endpoint.
 */
export async function enableEndpoint(db: Database, accountId: string, id: string, now: Date): Promise<{ endpoint: EndpointRow; released: number } | null> {
  if (!isUuid(id)) return null;
  return db.transaction(async (tx) => {
    const [found] = await tx.select().from(endpoints).where(and(eq(endpoints.id, id), eq(endpoints.accountId, accountId))).for('update');
    if (!found) return null;
    if (found.status === 'paused') return { endpoint: found, released: 0 };
    let endpoint = found;
    if (found.status === 'disabled') {
      [endpoint = found] = await tx.update(endpoints).set({ status: 'active', disabledReason: null, failingSince: null, updatedAt: now }).where(eq(endpoints.id, id)).returning();
    }
    const released = await tx
      .update(deliveries)
      .set(requeued('pending', now))
      .where(and(eq(deliveries.endpointId, id), eq(deliveries.status, 'held')))
      .returning({ id: deliveries.id });
    return { endpoint, released: released.length };
  });
}

/**
 * Queues one of the account's delivered or failed deliveries again (held if its endpoint is
 * disabled). Null when the account has no such delivery; HF_WEBHOOK_DELIVERY_NOT_RESENDABLE (409)
 * when it is pending, held or cancelled, or its endpoint was deleted.
 */
export async function resendDelivery(db: Database, accountId: string, id: string, now: Date): Promise<'pending' | 'held' | null> {
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
    if (d.status !== 'delivered' && d.status !== 'failed') throw new DeliveryNotResendable(`it is ${d.status} (its endpoint was deleted)`);
    const [e] = await tx.select({ status: endpoints.status }).from(endpoints).where(eq(endpoints.id, d.endpointId)).for('share');
    if (!e) throw new DeliveryNotResendable('its endpoint was deleted');
    const status = queueStatus(e.status);
    await tx.update(deliveries).set(requeued(status, now)).where(eq(deliveries.id, id));
    return status;
  });
}

/**
 * Queues again every failed delivery of the account's endpoint created at or after `since` (held if
 * the endpoint is disabled). Null when the account has no such endpoint; HF_WEBHOOK_INVALID_QUERY
 * for a `since` that is not a date-time or is in the future.
 */
export async function recoverEndpoint(db: Database, accountId: string, id: string, since: string | Date, now: Date): Promise<{ queued: number; status: 'pending' | 'held' } | null> {
  const from = queryTime('since', since);
  if (from > now) throw new InvalidQuery('"since" is in the future');
  if (!isUuid(id)) return null;
  return db.transaction(async (tx) => {
    const [e] = await tx.select({ status: endpoints.status }).from(endpoints).where(and(eq(endpoints.id, id), eq(endpoints.accountId, accountId))).for('share');
    if (!e) return null;
    const status = queueStatus(e.status);
    const rows = await tx
      .update(deliveries)
      .set(requeued(status, now))
      .where(and(eq(deliveries.endpointId, id), eq(deliveries.accountId, accountId), eq(deliveries.status, 'failed'), gte(deliveries.createdAt, from)))
      .returning({ id: deliveries.id });
    return { queued: rows.length, status };
  });
}
