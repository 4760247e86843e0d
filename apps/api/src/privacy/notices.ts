/**
 * What the app tells people, through @harakaflow/notify: who an account's messages go to (and
 * whether that address is verified), who the policy notices go to, what a rights request's change
 * says to the account and to the address it came from, the job that asks accounts made before email
 * verification to verify (notice-jobs.ts), the notice of a disabled webhook endpoint, and the bridge
 * that sends the rows an earlier version left in `app.notifications` (notice-jobs.ts).
 */
import type { Receipt, RightsRequest } from '@harakaflow/data-rights';
import { isFinal } from '@harakaflow/data-rights/internals';
import type { Database } from '@harakaflow/db';
import type { Recipient } from '@harakaflow/notify';
import type { DisabledEndpoint } from '@harakaflow/webhooks';
import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import { emailVerified } from '../data/email-verification.js';
import { languageOfTag } from '../languages/languages.js';
import { accounts } from '../data/schema.js';
import { utcMinute } from '../data/dates.js';

export { noticeCache } from './notice-cache.js';
export { askExistingAccountsToVerify, bridgeLegacyNotifications } from './notice-jobs.js';

/** An account's address and names, for its messages; null when it no longer exists. */
export async function notificationRecipient(db: Database, accountId: string): Promise<Recipient | null> {
  const [row] = await db
    .select({ address: accounts.email, name: accounts.name, businessName: accounts.businessName })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return row ?? null;
}

/** Is `address` the account's address, and verified (issue 30 item 6)? Asked by notify at send time. */
export async function addressVerified(db: Database, accountId: string, address: string): Promise<boolean> {
  const [row] = await db
    .select({ email: accounts.email, verifiedEmail: accounts.verifiedEmail })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return !!row && emailVerified(row) && row.email.toLowerCase() === address.toLowerCase();
}

/** §11: every account with an email, not being deleted, 500 at a time in id order. */
export async function policyRecipients(
  db: Database,
  after: string | null,
): Promise<({ accountId: string } & Recipient)[]> {
  return db
    .select({
      accountId: accounts.id,
      address: accounts.email,
      name: accounts.name,
      businessName: accounts.businessName,
    })
    .from(accounts)
    .where(and(isNull(accounts.deletionPendingAt), after === null ? undefined : gt(accounts.id, after)))
    .orderBy(asc(accounts.id))
    .limit(500);
}

/** A receipt's parts as notify writes its summary, each in the message's language (`receiptParts`). */
export function receiptParts(receipt: Pick<Receipt, 'handlers'>): Record<string, unknown>[] {
  return receipt.handlers.map((h) => ({
    part: h.name,
    erased: h.erased,
    kept: h.kept,
    ...(h.keptReason ? { keptReason: h.keptReason } : {}),
  }));
}

/**
 * A request's change as `privacy.request.updated` data: due date, reason, the receipt (its parts,
 * each written by notify in the message's language, and the signed JSON). No English words: a
 * reason is the one an admin gave (or the system's note), and a restriction the account lifted
 * itself says so by `liftedBy`, not by a note.
 */
function updateData(request: RightsRequest, keysUrl: string): Record<string, unknown> {
  const last = request.history.at(-1);
  const reason =
    last?.event === 'extended'
      ? request.extensionReason
      : last?.event === 'lifted' && last.by === 'self'
        ? undefined
        : last?.note;
  const receipt = request.receipt && {
    receiptParts: receiptParts(request.receipt),
    // The summary as replicas of the previous version show it (English; this version writes it from the parts).
    receipt: request.receipt.handlers
      .map((h) => `${h.name}: ${h.erased} erased${h.kept ? `, ${h.kept} kept (${h.keptReason ?? 'kept by law'})` : ''}`)
      .join('; '),
    // The receipt as signed (issue 30 item 8): checked with the published keys alone.
    receiptJson: JSON.stringify(request.receipt),
    keysUrl,
  };
  return {
    requestId: request.id,
    kind: request.kind,
    status: request.status,
    event: last?.event ?? null,
    verified: request.verification !== null,
    dueDate: utcMinute(request.extendedDueAt ?? request.dueAt),
    ...(reason ? { reason } : {}),
    ...(last?.event === 'lifted' ? { liftedBy: last.by } : {}),
    ...receipt,
  };
}

/**
 * The message a request's latest change sends: the account's deletion, scheduled, says when and
 * how to cancel; any other change is a `privacy.request.updated` (received with its due date,
 * extended with the reason, fulfilled with the link or the receipt, denied with the reason). One per
 * change (the dedupe key counts the history); null for a change that says nothing new.
 */
export function requestNotice(
  request: RightsRequest,
  keysUrl: string,
): { kind: string; data: Record<string, unknown>; dedupeKey: string; lang: string | null } | null {
  const last = request.history.at(-1);
  const accountDeletion = request.kind === 'deletion' && request.subject.kind === 'account';
  // Work starting says nothing new to the account that filed it (the receipt of the request did);
  // an account's deletion is told once, with its purge date, not also as received.
  // (An account's deletion read from the privacy mailbox, not verified yet, is told as received:
  // that message carries the code that confirms it, issue 32.)
  if (
    (request.status === 'in_progress' && !(accountDeletion && last?.event === 'purge-scheduled')) ||
    (accountDeletion && request.status === 'open' && request.verification !== null)
  )
    return null;
  if (accountDeletion && last?.event === 'purge-scheduled') {
    const purgeAt = /purge at (\S+)/.exec(last.note ?? '')?.[1] ?? request.dueAt;
    return {
      kind: 'account.deletion.scheduled',
      data: {
        requestId: request.id,
        purgeDate: utcMinute(purgeAt),
        cancelPath: `/v1/privacy/requests/${request.id}/cancel`,
      },
      dedupeKey: `account.deletion.scheduled:${request.id}`,
      lang: languageOfTag(request.lang),
    };
  }
  return {
    kind: 'privacy.request.updated',
    data: updateData(request, keysUrl),
    dedupeKey: `privacy.request.updated:${request.id}:${request.history.length}`,
    lang: languageOfTag(request.lang),
  };
}

/**
 * Issue 34 item 3: a disabled webhook endpoint is told to its account (`webhook.endpoint_disabled`),
 * with what happened, how many deliveries wait and how to send them. The endpoint is named by its
 * id and its URL's origin only: a path or query may carry the receiver's token, and the outbox
 * keeps the data 30 days. One message per disabling (the key is the endpoint and the time).
 */
export function endpointDisabledNotice(e: DisabledEndpoint): {
  kind: string;
  accountId: string;
  data: Record<string, unknown>;
  dedupeKey: string;
} {
  const base = `/v1/webhooks/endpoints/${e.id}`;
  return {
    kind: 'webhook.endpoint_disabled',
    accountId: e.accountId,
    data: {
      endpointId: e.id,
      endpointOrigin: new URL(e.url).origin,
      // Why, as notify's texts say it in each language; `reason`, in English, for replicas of the previous version.
      cause: e.reason === 'gone' ? 'gone' : 'failing',
      ...(e.failingSince ? { failingSince: utcMinute(e.failingSince) } : {}),
      reason:
        e.reason === 'gone'
          ? 'it answered 410 Gone, which asks for no more deliveries'
          : `every delivery attempt failed since ${e.failingSince ? utcMinute(e.failingSince) : 'several days'}`,
      disabledAt: utcMinute(e.disabledAt),
      held: e.held,
      enablePath: `${base}/enable`,
      deliveriesPath: `${base}/deliveries`,
      recoverPath: `${base}/recover`,
    },
    dedupeKey: `webhook.endpoint_disabled:${e.id}:${e.disabledAt.getTime()}`,
  };
}

/**
 * The message to the address a request came from (issue 30 item 9), at every step: received (and
 * that we must confirm it is theirs, when it is not verified yet), in progress, extended with the
 * reason, fulfilled with the link or the signed receipt, denied with the reason, canceled, expired.
 * Its last one is deleted from the outbox once sent (the address kept for it alone).
 */
export function requesterNotice(
  request: RightsRequest,
  keysUrl: string,
): { kind: string; data: Record<string, unknown>; dedupeKey: string; eraseAfterSend: boolean; lang: string | null } {
  return {
    kind: 'privacy.request.updated',
    data: updateData(request, keysUrl),
    dedupeKey: `privacy.request.updated:${request.id}:${request.history.length}:requester`,
    eraseAfterSend: isFinal(request.status),
    lang: languageOfTag(request.lang),
  };
}
