/** The outbox for operators (hf-notify, /health) and its retention purge. */
import type { Database } from '@harakaflow/db';
import { and, count, desc, eq, inArray, lt, min, or, sql, type SQL } from 'drizzle-orm';
import { InvalidFilter } from './errors.js';
import { purgeDeliveries } from './deliveries.js';
import { addresses, attempts, outbox, reports } from './schema.js';
import type { NotifierConfig } from './types.js';
import type { NotificationStatus, NotificationView } from './types.js';
import { addressesOf, normalizeAddress, WAITING_FOR_VERIFICATION } from './subject-data.js';
import { KINDS } from './kinds.js';

export interface OutboxFilter {
  status?: string | undefined;
  kind?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** The outbox for operators, newest first (keyset on the UUIDv7 id). Never the template data. */
export async function listOutbox(
  db: Database,
  filter: OutboxFilter = {},
): Promise<{ notifications: NotificationView[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
  if (filter.status !== undefined && !['pending', 'sent', 'failed', 'suppressed'].includes(filter.status))
    throw new InvalidFilter('status must be pending, sent, failed or suppressed');
  if (filter.kind !== undefined && !KINDS[filter.kind])
    throw new InvalidFilter(`kind must be one of ${Object.keys(KINDS).join(', ')}`);
  if (
    filter.cursor !== undefined &&
    !/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(filter.cursor)
  )
    throw new InvalidFilter('cursor is not one this list gave');
  const where: SQL[] = [];
  if (filter.status) where.push(eq(outbox.status, filter.status as NotificationStatus));
  if (filter.kind) where.push(eq(outbox.kind, filter.kind));
  if (filter.cursor) where.push(lt(outbox.id, filter.cursor));
  const rows = await db
    .select()
    .from(outbox)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(outbox.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    notifications: page.map((r) => ({
      id: r.id,
      kind: r.kind,
      accountId: r.accountId,
      address: r.address,
      status: r.status,
      attempts: r.attempts,
      createdAt: r.createdAt.toISOString(),
      nextAttemptAt: r.status === 'pending' ? r.nextAttemptAt.toISOString() : null,
      settledAt: r.settledAt?.toISOString() ?? null,
      providerMessageId: r.providerMessageId,
      lastError: r.lastError,
    })),
    nextCursor: rows.length > limit ? page.at(-1)!.id : null,
  };
}

/** Pending and not waiting for its address to be verified (that wait is the account's, not a backlog). */
const due = () =>
  and(eq(outbox.status, 'pending'), sql`${outbox.lastError} is distinct from ${WAITING_FOR_VERIFICATION}`);

/**
 * For GET /health: how many are waiting to be sent (not those waiting for a verified address), have failed for good,
 * and addresses bouncing.
 */
export async function outboxCounts(db: Database): Promise<{ pending: number; failed: number; bouncing: number }> {
  const byStatus = await db
    .select({ status: outbox.status, n: count() })
    .from(outbox)
    .where(or(due(), eq(outbox.status, 'failed')))
    .groupBy(outbox.status);
  const [b] = await db.select({ n: count() }).from(addresses);
  const of = (s: string) => Number(byStatus.find((r) => r.status === s)?.n ?? 0);
  return { pending: of('pending'), failed: of('failed'), bouncing: Number(b?.n ?? 0) };
}

/** For the metrics: the counts of GET /health, and how long the oldest pending message has waited, ms (0 when none). */
export async function outboxStats(
  db: Database,
  now: Date,
): Promise<{ pending: number; failed: number; bouncing: number; oldestPendingMs: number }> {
  const counts = await outboxCounts(db);
  const [row] = await db
    .select({ oldest: min(outbox.createdAt) })
    .from(outbox)
    .where(due());
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : null;
  return { ...counts, oldestPendingMs: oldest === null ? 0 : Math.max(0, now.getTime() - oldest) };
}

/**
 * Settled rows created before `before` (the outbox's retention, 30 days), held accounts' kept. Returns how many (a dry
 * run: would).
 */
export async function purgeSettled(
  db: Database,
  before: Date,
  limit = 1000,
  held: readonly string[] = [],
  dryRun = false,
): Promise<number> {
  const where = and(
    inArray(outbox.status, ['sent', 'failed', 'suppressed']),
    lt(outbox.createdAt, before),
    held.length
      ? sql`coalesce(${outbox.accountId}, '') not in (${sql.join(
          held.map((h) => sql`${h}`),
          sql`, `,
        )})`
      : undefined,
  );
  if (dryRun) return Number((await db.select({ n: count() }).from(outbox).where(where))[0]?.n ?? 0);
  // Reports read before the cutoff (they name no one): one read again later is matched again, its steps idempotent.
  await db
    .delete(reports)
    .where(
      inArray(
        reports.key,
        db.select({ key: reports.key }).from(reports).where(lt(reports.receivedAt, before)).limit(limit),
      ),
    );
  const old = await db.select({ id: outbox.id }).from(outbox).where(where).limit(limit);
  if (!old.length) {
    // Records whose outbox row an earlier version's purge deleted.
    await purgeDeliveries(db, before, limit);
    return 0;
  }
  const ids = old.map((r) => r.id);
  await db.delete(attempts).where(inArray(attempts.notificationId, ids));
  const purged = (await db.delete(outbox).where(inArray(outbox.id, ids)).returning({ id: outbox.id })).length;
  // Their delivery records go too, but a legal notice's to an account: the account's record of the notices it was
  // given.
  await purgeDeliveries(db, before, limit);
  return purged;
}

/** Of these addresses, those marked (bouncing or complained), with their mark. */
export async function bouncingOf(db: Database, listed: string[]): Promise<Map<string, 'bouncing' | 'complained'>> {
  if (!listed.length) return new Map();
  return new Map(
    (
      await db
        .select({ a: addresses.address, status: addresses.status })
        .from(addresses)
        .where(inArray(addresses.address, listed))
    ).map((r) => [r.a, r.status]),
  );
}

/**
 * Queues failed notifications again (`hf-notify retry --failed`). Those to a bouncing address stay
 * failed unless `includeBouncing`, which also clears those addresses' marks. Returns how many.
 */
export async function retryFailed(
  c: Pick<NotifierConfig, 'db' | 'onQueued'>,
  now: Date,
  o: { includeBouncing?: boolean } = {},
): Promise<number> {
  const failed = await c.db
    .select({ id: outbox.id, address: outbox.address })
    .from(outbox)
    .where(eq(outbox.status, 'failed'));
  if (!failed.length) return 0;
  const bouncing = await bouncingOf(c.db, addressesOf(failed));
  if (o.includeBouncing && bouncing.size)
    await c.db.delete(addresses).where(inArray(addresses.address, [...bouncing.keys()]));
  const ids = failed
    .filter((r) => o.includeBouncing || !r.address || !bouncing.has(normalizeAddress(r.address)))
    .map((r) => r.id);
  for (let i = 0; i < ids.length; i += 1000) {
    await c.db
      .update(outbox)
      .set({ status: 'pending', attempts: 0, nextAttemptAt: now, settledAt: null, lastError: null })
      .where(and(inArray(outbox.id, ids.slice(i, i + 1000)), eq(outbox.status, 'failed')));
  }
  if (ids.length) c.onQueued?.();
  return ids.length;
}
