/**
 * Reports that come back later (issue 34 item 4): a DSN or an abuse report read from the bounce
 * mailbox is matched to the message the kit sent, and what it says is recorded: the message's
 * outcome (`notify.deliveries`), the address marked `bouncing` (a hard bounce, 5.x.x) or
 * `complained` (an abuse report), and, for a legal notice to an account, a notice the account is
 * shown. A soft failure (4.x.x) or a delay is recorded only.
 *
 * Anyone can send mail to the bounce mailbox, so a report is believed only as far as it names a
 * message: by the returned message's Message-ID (`<id@from-domain>`) or the kit's
 * `X-HarakaFlow-Notification-Id` header, which only the message's recipients and the relays it
 * crossed have seen; a report that returns no message may name its recipient instead, and then
 * counts only for a message sent to that address in the last `recipientDays` days (0: never).
 * A report about any other message changes nothing.
 *
 * Idempotent by the report's Message-ID (else a digest of its bytes): `notify.reports` records each
 * report that changed something, last; every step before is idempotent, so a crash half-way is
 * resumed by reading the report again.
 */
import type { Database } from '@harakaflow/db';
import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { recordReport, type ReportedOutcome } from './deliveries.js';
import { normalizeAddress } from './subject-data.js';
import { parseReport, reportKey, notificationIdOf, type DeliveryReport, type DsnRecipient } from './reports.js';
import { addresses, outbox, reports, type DeliveryOutcome } from './schema.js';
import { render } from './templates.js';

/** Feedback types that are a person's complaint (RFC 5965 §7.3); `not-spam`, `auth-failure` and others are not. */
export const COMPLAINT_TYPES: readonly string[] = ['abuse', 'fraud', 'virus'];

export interface BounceResult {
  /**
   * `recorded`: the report changed what is known of a message; `duplicate`: this report was read
   * before; `unmatched`: a report about no message the kit sent (or one no longer on record);
   * `ignored`: not a report, or one that says nothing to act on.
   */
  status: 'recorded' | 'duplicate' | 'unmatched' | 'ignored';
  type?: 'dsn' | 'arf' | undefined;
  outcome?: Exclude<DeliveryOutcome, 'accepted'> | undefined;
  notificationId?: string | undefined;
  matchedBy?: 'message-id' | 'recipient' | undefined;
  /** Why it was ignored or unmatched (never an address). */
  reason?: string | undefined;
}

export interface BounceContext {
  db: Database;
  /** The From address's domain: Message-IDs the kit wrote end with it. */
  domain: string;
  /** A report that returns no message counts for one sent to its recipient within this many days (0: never). */
  recipientDays: number;
  now: () => Date;
}

type OutboxRow = Pick<
  typeof outbox.$inferSelect,
  'id' | 'kind' | 'accountId' | 'address' | 'data' | 'status' | 'createdAt' | 'settledAt'
>;
const outboxColumns = {
  id: outbox.id,
  kind: outbox.kind,
  accountId: outbox.accountId,
  address: outbox.address,
  data: outbox.data,
  status: outbox.status,
  createdAt: outbox.createdAt,
  settledAt: outbox.settledAt,
};

const SEVERITY: Record<string, number> = { failed: 3, delayed: 2, delivered: 1, relayed: 1, expanded: 1 };

/** The recipient block about `address`, else the most severe one. */
function blockFor(recipients: readonly DsnRecipient[], address: string | null): DsnRecipient | undefined {
  const mine = address
    ? recipients.find((r) => r.finalRecipient === address || r.originalRecipient === address)
    : undefined;
  return mine ?? [...recipients].sort((a, b) => (SEVERITY[b.action ?? ''] ?? 0) - (SEVERITY[a.action ?? ''] ?? 0))[0];
}

/**
 * What a DSN's block says happened; null when it says nothing usable. Hard: 5.x.x (or a failure that names no class).
 */
function dsnOutcome(
  block: DsnRecipient | undefined,
): { outcome: 'bounced' | 'delayed' | 'delivered'; hard: boolean } | null {
  if (!block) return null;
  const klass = block.status?.[0] ?? (block.smtpCode === null ? null : String(block.smtpCode)[0]!);
  const action = block.action ?? (klass === '5' || klass === '4' ? 'failed' : klass === '2' ? 'delivered' : null);
  if (action === 'failed') return { outcome: 'bounced', hard: klass !== '4' };
  if (action === 'delayed') return { outcome: 'delayed', hard: false };
  if (action === 'delivered' || action === 'relayed' || action === 'expanded')
    return { outcome: 'delivered', hard: false };
  return null;
}

/** The addresses a report names as the message's recipient. */
function namedRecipients(report: DeliveryReport): string[] {
  const named =
    report.type === 'dsn'
      ? report.recipients.flatMap((r) => [r.finalRecipient, r.originalRecipient])
      : report.recipients;
  return [...new Set([...named, ...(report.original?.to ?? [])].filter((a): a is string => !!a))].slice(0, 100);
}

/** The message the report is about, and how it was named; or why none. */
async function match(
  c: BounceContext,
  report: DeliveryReport,
  at: Date,
): Promise<{ id: string; row: OutboxRow | null; by: 'message-id' | 'recipient' } | { reason: string }> {
  const original = report.original;
  const id = notificationIdOf(original?.messageId ?? null, c.domain) ?? original?.notificationId ?? null;
  if (id) {
    const [row] = await c.db.select(outboxColumns).from(outbox).where(eq(outbox.id, id));
    return { id, row: row ?? null, by: 'message-id' };
  }
  if (original?.messageId) return { reason: 'the returned message is not one the kit sent' };
  const named = namedRecipients(report);
  if (c.recipientDays <= 0 || !named.length) return { reason: 'the report names no message the kit sent' };
  const since = new Date(at.getTime() - c.recipientDays * 86_400_000);
  const [row] = await c.db
    .select(outboxColumns)
    .from(outbox)
    .where(
      and(
        sql`lower(${outbox.address}) in (${sql.join(
          named.map((a) => sql`${a}`),
          sql`, `,
        )})`,
        eq(outbox.status, 'sent'),
        gte(outbox.settledAt, since),
      ),
    )
    .orderBy(desc(outbox.settledAt))
    .limit(1);
  return row
    ? { id: row.id, row, by: 'recipient' }
    : { reason: `no message was sent to the address it names in the last ${c.recipientDays} days` };
}

/** A subject for a message sent before subjects were recorded: rendered from its data, else its kind. */
function subjectOf(row: OutboxRow): string {
  try {
    return render(row.kind, row.data).subject;
  } catch {
    return row.kind;
  }
}

/**
 * Reads one raw message from the bounce mailbox and records what it says (see the file's comment). Throws only when the
 * database does.
 */
export async function processBounce(
  c: BounceContext,
  raw: Buffer | Uint8Array,
  o: { receivedAt?: Date | undefined } = {},
): Promise<BounceResult> {
  const report = await parseReport(raw);
  if (!report) return { status: 'ignored', reason: 'not a delivery status notification or feedback report' };
  const key = reportKey(report, raw);
  const [seen] = await c.db.select({ key: reports.key }).from(reports).where(eq(reports.key, key));
  if (seen) return { status: 'duplicate', type: report.type };
  const at = o.receivedAt ?? c.now();
  let reported: ReportedOutcome;
  let hard = false;
  const found = await match(c, report, at);
  if ('reason' in found) return { status: 'unmatched', type: report.type, reason: found.reason };
  const address = found.row?.address ? normalizeAddress(found.row.address) : null;
  if (report.type === 'dsn') {
    const block = blockFor(report.recipients, address);
    const said = dsnOutcome(block);
    if (!said) return { status: 'ignored', type: 'dsn', reason: 'the report names no action' };
    reported = { outcome: said.outcome, at, dsnStatus: block!.status, smtpCode: block!.smtpCode, feedbackType: null };
    hard = said.hard;
  } else {
    if (!report.feedbackType || !COMPLAINT_TYPES.includes(report.feedbackType))
      return {
        status: 'ignored',
        type: 'arf',
        reason: `feedback type ${report.feedbackType ?? 'missing'} is not a complaint`,
      };
    reported = { outcome: 'complained', at, dsnStatus: null, smtpCode: null, feedbackType: report.feedbackType };
  }
  const row = found.row;
  const recorded = await recordReport(c.db, found.id, reported, () =>
    row
      ? {
          notificationId: row.id,
          accountId: row.accountId,
          kind: row.kind,
          subject: subjectOf(row),
          createdAt: row.createdAt,
          acceptedAt: row.status === 'sent' ? row.settledAt : null,
        }
      : null,
  );
  if (!recorded) return { status: 'unmatched', type: report.type, reason: 'the message is no longer on record' };
  // The address it was sent to (while the outbox keeps it): optional kinds stop going there.
  if (address && reported.outcome === 'complained') {
    await c.db
      .insert(addresses)
      .values({ address, status: 'complained', smtpCode: null, since: at, dsnStatus: null })
      .onConflictDoUpdate({
        target: addresses.address,
        set: { status: 'complained', since: at },
        setWhere: sql`${addresses.status} <> 'complained'`,
      });
  } else if (address && reported.outcome === 'bounced' && hard) {
    await c.db
      .insert(addresses)
      .values({ address, status: 'bouncing', smtpCode: reported.smtpCode, since: at, dsnStatus: reported.dsnStatus })
      .onConflictDoNothing();
  }
  await c.db
    .insert(reports)
    .values({
      key,
      receivedAt: at,
      type: report.type,
      outcome: reported.outcome,
      notificationId: found.id,
      matchedBy: found.by,
    })
    .onConflictDoNothing();
  return {
    status: 'recorded',
    type: report.type,
    outcome: reported.outcome,
    notificationId: found.id,
    matchedBy: found.by,
  };
}
