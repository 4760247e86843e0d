/** A subject's notifications: the personal-data export and erasure (contract item 5). */
import type { Database } from '@harakaflow/db';
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { eraseDeliveries, exportDeliveries, forgetReports } from './deliveries.js';
import { addresses, attempts, outbox, preferences } from './schema.js';
import type { NotifierConfig } from './types.js';

/**
 * The `last_error` of a message waiting for its address to be verified (service.ts sets it, `releaseWaiting` looks for
 * it).
 */
export const WAITING_FOR_VERIFICATION = 'waiting for a verified address';

/** Kinds kept, flagged, until sent when their subject is erased: they are about the erasure itself. */
export const KEEP_UNTIL_SENT = ['account.deletion.scheduled', 'privacy.request.updated'];

export type SubjectWhere = { accountId: string } | { email: string };

export const normalizeAddress = (a: string) => a.trim().toLowerCase();
/** The distinct addresses of some rows, as `notify.addresses` keys them. */
export const addressesOf = (rows: readonly { address: string | null }[]) => [
  ...new Set(
    rows
      .map((r) => r.address)
      .filter((a): a is string => !!a)
      .map(normalizeAddress),
  ),
];
/** A subject's rows: an account's, or those sent to an email address. */
export const subjectRows = (where: { accountId: string } | { email: string }) =>
  'accountId' in where
    ? eq(outbox.accountId, where.accountId)
    : sql`lower(${outbox.address}) = ${normalizeAddress(where.email)}`;

/**
 * A subject's notifications, preferences and bounce marks, and its delivery records: `legalNotices`
 * (every legal notice it was sent and how it went, kept while the account is) and `deliveries`
 * (the other messages still on record). Personal-data export.
 */
export async function exportNotifications(db: Database, where: SubjectWhere, prefs: Record<string, boolean>) {
  const rows = await db
    .select({
      id: outbox.id,
      kind: outbox.kind,
      address: outbox.address,
      data: outbox.data,
      status: outbox.status,
      createdAt: outbox.createdAt,
      settledAt: outbox.settledAt,
    })
    .from(outbox)
    .where(subjectRows(where))
    .orderBy(asc(outbox.id));
  const mine = 'email' in where ? [normalizeAddress(where.email)] : addressesOf(rows);
  const bouncing = mine.length
    ? await db
        .select({
          address: addresses.address,
          status: addresses.status,
          since: addresses.since,
          dsnStatus: addresses.dsnStatus,
        })
        .from(addresses)
        .where(inArray(addresses.address, mine))
    : [];
  const records = await exportDeliveries(
    db,
    'accountId' in where ? where.accountId : null,
    rows.map((r) => r.id),
  );
  return { notifications: rows, preferences: prefs, bouncing, ...records };
}

/**
 * Erases a subject's notifications, preferences and bounce marks. A pending notice about the
 * erasure itself (KEEP_UNTIL_SENT) is kept, flagged, and deleted once it is sent: it is reported
 * as kept, with the reason.
 */
export async function eraseNotifications(
  c: Pick<NotifierConfig, 'db' | 'transport'>,
  where: SubjectWhere,
): Promise<{ erased: number; kept: { count: number; reason: string }[] }> {
  const rows = await c.db
    .select({ id: outbox.id, kind: outbox.kind, status: outbox.status, address: outbox.address })
    .from(outbox)
    .where(subjectRows(where));
  const keep = rows.filter((r) => r.status === 'pending' && KEEP_UNTIL_SENT.includes(r.kind)).map((r) => r.id);
  const remove = rows.filter((r) => !keep.includes(r.id)).map((r) => r.id);
  let erased = 0;
  for (let i = 0; i < remove.length; i += 1000) {
    const chunk = remove.slice(i, i + 1000);
    await c.db.delete(attempts).where(inArray(attempts.notificationId, chunk));
    erased += (await c.db.delete(outbox).where(inArray(outbox.id, chunk)).returning({ id: outbox.id })).length;
  }
  // One waiting for its address to be verified (service.ts) is due now: it will never be, and the
  // dispatcher drops it (with the row) instead of keeping the address for the rest of its wait.
  if (keep.length) {
    await c.db
      .update(outbox)
      .set({
        eraseAfterSend: true,
        nextAttemptAt: sql`case when ${outbox.lastError} = ${WAITING_FOR_VERIFICATION} then ${outbox.createdAt} else ${outbox.nextAttemptAt} end`,
        lastError: sql`case when ${outbox.lastError} = ${WAITING_FOR_VERIFICATION} then null else ${outbox.lastError} end`,
      })
      .where(inArray(outbox.id, keep));
  }
  await c.transport.forget?.(remove);
  // Delivery records: the account's all (its legal notices' too), an address's those of its messages.
  erased += await eraseDeliveries(c.db, 'accountId' in where ? where.accountId : null, remove);
  await forgetReports(c.db, remove);
  if ('accountId' in where)
    erased += (
      await c.db
        .delete(preferences)
        .where(eq(preferences.accountId, where.accountId))
        .returning({ k: preferences.kind })
    ).length;
  const mine = 'email' in where ? [normalizeAddress(where.email)] : addressesOf(rows);
  if (mine.length)
    erased += (await c.db.delete(addresses).where(inArray(addresses.address, mine)).returning({ a: addresses.address }))
      .length;
  return {
    erased,
    kept: keep.length
      ? [{ count: keep.length, reason: 'notify: notices about this request, not yet sent; deleted once sent' }]
      : [],
  };
}
