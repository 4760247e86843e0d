/**
 * A subject's webhook data (export, erasure) and the retention purge, as plain functions on the
 * database (moved out of service.ts unchanged, but for `held` deliveries now purged like settled
 * ones: issue 34 item 3).
 */
import type { Database } from '@harakaflow/db';
import { and, asc, eq, inArray, like, sql, type SQL } from 'drizzle-orm';
import { attempts, deliveries } from './schema.js';

/**
 * An account's deliveries whose payload names a contact's number as a JSON string. An E.164 number
 * is `+` and digits: nothing in it is a LIKE wildcard.
 */
const namingContact = (accountId: string, phone: string) =>
  and(eq(deliveries.accountId, accountId), like(deliveries.payload, `%${JSON.stringify(phone)}%`));

/** The statuses the retention class removes once old enough: settled, and held (their endpoint stayed disabled). */
export const PURGED_STATUSES = ['delivered', 'failed', 'cancelled', 'held'] as const;

/**
 * Retention (§4, class `webhook_deliveries`): deliveries settled (delivered, failed, cancelled) or
 * held, created before `before`, with their attempts, `limit` at a time; held accounts' kept.
 * Returns how many were deleted (a dry run: would be).
 */
export async function purgeDeliveries(
  db: Database,
  before: Date,
  limit = 1000,
  held: readonly string[] = [],
  dryRun = false,
): Promise<number> {
  const where = and(
    inArray(deliveries.status, [...PURGED_STATUSES]),
    sql`${deliveries.createdAt} < ${before.toISOString()}::timestamptz`,
    held.length
      ? sql`${deliveries.accountId} not in (${sql.join(
          held.map((h) => sql`${h}`),
          sql`, `,
        )})`
      : undefined,
  );
  if (dryRun)
    return Number(
      (
        await db
          .select({ n: sql<number>`count(*)::int` })
          .from(deliveries)
          .where(where)
      )[0]?.n ?? 0,
    );
  const ids = (await db.select({ id: deliveries.id }).from(deliveries).where(where).limit(limit)).map((r) => r.id);
  if (!ids.length) return 0;
  // The delete checks the status again (security review L2): a row resent, recovered or released
  // since it was read is pending now and stays, with its attempts. One transaction: no attempt
  // outlives its delivery.
  return db.transaction(async (tx) => {
    const gone = (
      await tx
        .delete(deliveries)
        .where(and(inArray(deliveries.id, ids), where))
        .returning({ id: deliveries.id })
    ).map((r) => r.id);
    if (gone.length) await tx.delete(attempts).where(inArray(attempts.deliveryId, gone));
    return gone.length;
  });
}

async function deliveriesWhere(db: Database, where: SQL | undefined) {
  const sent = await db
    .select({
      id: deliveries.id,
      endpointId: deliveries.endpointId,
      eventType: deliveries.eventType,
      status: deliveries.status,
      attempts: deliveries.attempts,
      createdAt: deliveries.createdAt,
      deliveredAt: deliveries.deliveredAt,
      payload: deliveries.payload,
    })
    .from(deliveries)
    .where(where)
    .orderBy(asc(deliveries.createdAt));
  return sent.map((d) => ({ ...d, payload: JSON.parse(d.payload) as unknown }));
}

/** An account's deliveries (personal-data export). */
export const accountDeliveries = (db: Database, accountId: string) =>
  deliveriesWhere(db, eq(deliveries.accountId, accountId));

/** The deliveries of an account whose payload names one contact's number (a contact's export). */
export const contactDeliveries = (db: Database, accountId: string, phone: string) =>
  deliveriesWhere(db, namingContact(accountId, phone));

/** Deletes deliveries by id, with their attempts, 1,000 at a time. */
async function deleteDeliveries(db: Database, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    await db.delete(attempts).where(inArray(attempts.deliveryId, chunk));
    await db.delete(deliveries).where(inArray(deliveries.id, chunk));
  }
}

/**
 * Erases one contact's number from an account's deliveries: every delivery whose payload names it
 * (as a JSON string) goes, with its attempts; the account's other deliveries stay.
 */
export async function eraseContactDeliveries(db: Database, accountId: string, phone: string): Promise<number> {
  const ids = (await db.select({ id: deliveries.id }).from(deliveries).where(namingContact(accountId, phone))).map(
    (r) => r.id,
  );
  await deleteDeliveries(db, ids);
  return ids.length;
}

/** Erases an account's deliveries and their attempts; returns how many deliveries. */
export async function eraseAccountDeliveries(db: Database, accountId: string): Promise<number> {
  const ids = (await db.select({ id: deliveries.id }).from(deliveries).where(eq(deliveries.accountId, accountId))).map(
    (r) => r.id,
  );
  await deleteDeliveries(db, ids);
  // Any a replica queued meanwhile (their attempts are none yet).
  const late = await db.delete(deliveries).where(eq(deliveries.accountId, accountId)).returning({ id: deliveries.id });
  return ids.length + late.length;
}
