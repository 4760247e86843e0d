/**
 * What became of each message after the relay (issue 34 item 4), in `notify.deliveries`: accepted
 * (or refused for good at once), then what reports from the bounce mailbox said. A legal notice to
 * an account that bounced or drew a complaint becomes a notice the account is shown (`GET /v1/me`
 * in the app) until it acknowledges it: the policy's §11 notice and a rights request's answer
 * reach the account even when its mailbox does not take them.
 */
import type { Database } from '@harakaflow/db';
import { and, asc, eq, inArray, isNotNull, isNull, lt, notInArray, or, sql } from 'drizzle-orm';
import { deliveries, outbox, reports, type DeliveryOutcome } from './schema.js';
import { KINDS } from './kinds.js';

type Delivery = typeof deliveries.$inferSelect;

/** How much an outcome says: a later report never makes a message look better than one before it. */
const RANK: Record<DeliveryOutcome, number> = { accepted: 0, delayed: 1, delivered: 2, bounced: 3, complained: 4 };

/** A notice shown to the account: a legal notice that did not reach it. */
export interface AccountNotice {
  /** The notification's id. */
  id: string;
  kind: string;
  subject: string;
  /** When the message was queued. */
  createdAt: string;
  /** When it was learnt that it did not arrive (the report, or the refusal). */
  reportedAt: string;
  reason: 'bounced' | 'complained';
}

/** Kinds whose failure the account is shown: legal notices (§11 policy notices, rights requests' answers). */
export const isLegal = (kind: string) => KINDS[kind]?.category === 'legal';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SentRow {
  id: string;
  kind: string;
  accountId: string | null;
  createdAt: Date;
}

/**
 * The relay's answer to a send: accepted, or refused for good (a 5xx: `bounced`, a notice for a
 * legal one to an account). A message sent again (`retryFailed`) starts over as accepted; a notice
 * already shown stays until acknowledged.
 */
export async function recordSend(
  db: Database,
  row: SentRow,
  subject: string,
  at: Date,
  result: { accepted: boolean; smtpCode: number | null },
): Promise<void> {
  const outcome: DeliveryOutcome = result.accepted ? 'accepted' : 'bounced';
  const values = {
    acceptedAt: result.accepted ? at : null,
    outcome,
    outcomeAt: at,
    dsnStatus: null,
    smtpCode: result.smtpCode,
    feedbackType: null,
    subject,
  };
  const notice = !result.accepted && row.accountId && isLegal(row.kind) ? ({ noticeReason: 'bounced' } as const) : {};
  await db
    .insert(deliveries)
    .values({
      notificationId: row.id,
      accountId: row.accountId,
      kind: row.kind,
      createdAt: row.createdAt,
      ...values,
      ...notice,
    })
    .onConflictDoUpdate({ target: deliveries.notificationId, set: { ...values, ...notice } });
}

export interface ReportedOutcome {
  outcome: Exclude<DeliveryOutcome, 'accepted'>;
  at: Date;
  dsnStatus: string | null;
  smtpCode: number | null;
  feedbackType: string | null;
}

/**
 * A report's outcome for a message: kept when it says more than what is on record (RANK), and a
 * legal notice to an account that bounced (hard or soft: it did not arrive) or drew a complaint
 * becomes a notice. `base` makes the row for a message sent before deliveries were recorded.
 * Idempotent: the same report applied twice leaves the same row.
 */
export async function recordReport(
  db: Database,
  id: string,
  reported: ReportedOutcome,
  base: () => Omit<
    Delivery,
    'outcome' | 'outcomeAt' | 'dsnStatus' | 'smtpCode' | 'feedbackType' | 'noticeReason' | 'shownAt' | 'acknowledgedAt'
  > | null,
): Promise<Delivery | null> {
  let [row] = await db.select().from(deliveries).where(eq(deliveries.notificationId, id));
  if (!row) {
    const made = base();
    if (!made) return null;
    [row] = await db
      .insert(deliveries)
      .values({ ...made, outcome: 'accepted', outcomeAt: made.acceptedAt ?? reported.at })
      .onConflictDoNothing()
      .returning();
    row ??= (await db.select().from(deliveries).where(eq(deliveries.notificationId, id)))[0];
    if (!row) return null;
  }
  const reason =
    (reported.outcome === 'bounced' || reported.outcome === 'complained') && row.accountId && isLegal(row.kind)
      ? reported.outcome
      : null;
  const set = {
    ...(RANK[reported.outcome] >= RANK[row.outcome]
      ? {
          outcome: reported.outcome,
          outcomeAt: reported.at,
          dsnStatus: reported.dsnStatus,
          smtpCode: reported.smtpCode,
          feedbackType: reported.feedbackType,
        }
      : {}),
    ...(reason && !row.noticeReason ? { noticeReason: reason } : {}),
  };
  if (!Object.keys(set).length) return row;
  const [updated] = await db.update(deliveries).set(set).where(eq(deliveries.notificationId, id)).returning();
  return updated ?? row;
}

/**
 * The account's notices not yet acknowledged, oldest first. With `markShown` those never shown are
 * marked shown now (what the export reports as "shown in the API").
 */
export async function accountNotices(
  db: Database,
  accountId: string,
  now: Date,
  markShown = false,
): Promise<AccountNotice[]> {
  const rows = await db
    .select()
    .from(deliveries)
    .where(
      and(eq(deliveries.accountId, accountId), isNotNull(deliveries.noticeReason), isNull(deliveries.acknowledgedAt)),
    )
    .orderBy(asc(deliveries.outcomeAt), asc(deliveries.notificationId))
    .limit(100);
  const unseen = rows.filter((r) => !r.shownAt).map((r) => r.notificationId);
  if (markShown && unseen.length)
    await db
      .update(deliveries)
      .set({ shownAt: now })
      .where(and(inArray(deliveries.notificationId, unseen), isNull(deliveries.shownAt)));
  return rows.map((r) => ({
    id: r.notificationId,
    kind: r.kind,
    subject: r.subject,
    createdAt: r.createdAt.toISOString(),
    reportedAt: r.outcomeAt.toISOString(),
    reason: r.noticeReason!,
  }));
}

/**
 * Acknowledges one of the account's notices; when it was acknowledged (again: the first time), or null when it has no
 * such notice.
 */
export async function acknowledgeNotice(db: Database, accountId: string, id: string, now: Date): Promise<Date | null> {
  if (typeof id !== 'string' || !UUID.test(id)) return null;
  const mine = and(
    eq(deliveries.notificationId, id.toLowerCase()),
    eq(deliveries.accountId, accountId),
    isNotNull(deliveries.noticeReason),
  );
  const [done] = await db
    .update(deliveries)
    .set({ acknowledgedAt: now, shownAt: sql`coalesce(${deliveries.shownAt}, ${now.toISOString()}::timestamptz)` })
    .where(and(mine, isNull(deliveries.acknowledgedAt)))
    .returning({ at: deliveries.acknowledgedAt });
  if (done?.at) return done.at;
  const [before] = await db.select({ at: deliveries.acknowledgedAt }).from(deliveries).where(mine);
  return before?.at ?? null;
}

/** How one message went, as the export says it. */
const exported = (r: Delivery) => ({
  id: r.notificationId,
  kind: r.kind,
  subject: r.subject,
  createdAt: r.createdAt,
  acceptedByRelayAt: r.acceptedAt,
  outcome: r.outcome,
  outcomeAt: r.outcomeAt,
  dsnStatus: r.dsnStatus,
  smtpCode: r.smtpCode,
  feedbackType: r.feedbackType,
  shownInApi: r.noticeReason ? { reason: r.noticeReason, shownAt: r.shownAt, acknowledgedAt: r.acknowledgedAt } : null,
});

/**
 * A subject's delivery records for its export: `legalNotices` (every §11 policy notice and request
 * answer it was sent, and how each went: accepted by the relay, delayed, delivered, bounced,
 * complained, shown in the API and acknowledged), `deliveries` (the other messages still on record).
 */
export async function exportDeliveries(db: Database, accountId: string | null, notificationIds: readonly string[]) {
  const where = or(
    accountId ? eq(deliveries.accountId, accountId) : undefined,
    notificationIds.length ? inArray(deliveries.notificationId, [...notificationIds]) : undefined,
  );
  const rows = where ? await db.select().from(deliveries).where(where).orderBy(asc(deliveries.notificationId)) : [];
  return {
    legalNotices: rows.filter((r) => isLegal(r.kind)).map(exported),
    deliveries: rows.filter((r) => !isLegal(r.kind)).map(exported),
  };
}

/** Deletes the delivery records of these messages, and with `accountId` every one of the account's (its erasure). */
export async function eraseDeliveries(
  db: Database,
  accountId: string | null,
  notificationIds: readonly string[],
): Promise<number> {
  let erased = 0;
  if (accountId)
    erased += (
      await db
        .delete(deliveries)
        .where(eq(deliveries.accountId, accountId))
        .returning({ id: deliveries.notificationId })
    ).length;
  for (let i = 0; i < notificationIds.length; i += 1000) {
    erased += (
      await db
        .delete(deliveries)
        .where(inArray(deliveries.notificationId, notificationIds.slice(i, i + 1000)))
        .returning({ id: deliveries.notificationId })
    ).length;
  }
  return erased;
}

/**
 * The retention purge: records of messages queued before `before` whose outbox row is gone (deleted
 * by this purge, or by an earlier version's), but legal notices to an account, the account's record
 * of the notices it was given (kept while it is). At most `limit`.
 */
export async function purgeDeliveries(db: Database, before: Date, limit: number): Promise<void> {
  const legal = Object.entries(KINDS)
    .filter(([, spec]) => spec.category === 'legal')
    .map(([kind]) => kind);
  const stale = db
    .select({ id: deliveries.notificationId })
    .from(deliveries)
    .where(
      and(
        lt(deliveries.createdAt, before),
        or(isNull(deliveries.accountId), notInArray(deliveries.kind, legal)),
        sql`not exists (select 1 from ${outbox} where ${outbox.id} = ${deliveries.notificationId})`,
      ),
    )
    .limit(limit);
  await db.delete(deliveries).where(inArray(deliveries.notificationId, stale));
}

/** The reports read about these messages (their erasure). */
export async function forgetReports(db: Database, notificationIds: readonly string[]): Promise<void> {
  for (let i = 0; i < notificationIds.length; i += 1000)
    await db.delete(reports).where(inArray(reports.notificationId, notificationIds.slice(i, i + 1000)));
}
