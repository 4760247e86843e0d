// Forwarded requests' kinds and statuses, the view an account gets, and what their messages and webhook events say.
import type { Receipt } from '@harakaflow/data-rights';
import { utcMinute } from '../data/dates.js';
import type { contactRequests, forwardedRequests } from '../data/schema.js';
import { maskPhone } from './contact-proof.js';
import { receiptParts } from './notices.js';

/**
 * The kinds an account may answer by erasing the contact (erasing an access request would destroy what was asked for).
 */
export const ERASABLE_KINDS: readonly string[] = ['deletion', 'objection', 'withdraw_consent'];
export const FORWARDED_STATUSES = ['open', 'erasing', 'fulfilled', 'denied', 'erased'] as const;
export type ForwardedStatus = (typeof FORWARDED_STATUSES)[number];
export type Forwarded = typeof forwardedRequests.$inferSelect;
export type Contact = typeof contactRequests.$inferSelect;

/** A forwarded request as its account sees it (`GET /v1/privacy/forwarded`). */
export function forwardedView(r: Forwarded) {
  return {
    id: r.id,
    kind: r.kind,
    phone: r.phone,
    status: r.status,
    receivedAt: r.createdAt.toISOString(),
    dueAt: r.dueAt.toISOString(),
    answeredAt: r.answeredAt?.toISOString() ?? null,
    note: r.note,
    disclose: r.disclose,
    erasureRequestId: r.erasureRequestId,
    receipt: (r.receipt as Record<string, unknown> | null) ?? null,
  };
}

/** The `privacy.request.forwarded` webhook event's data: what the account must answer, and how. */
export function webhookData(r: Forwarded) {
  return {
    forwardedId: r.id,
    kind: r.kind,
    phone: r.phone,
    dueAt: r.dueAt.toISOString(),
    receivedAt: r.createdAt.toISOString(),
  };
}

export function accountData(r: Forwarded): Record<string, unknown> {
  return {
    forwardedId: r.id,
    kind: r.kind,
    phone: r.phone,
    dueDate: utcMinute(r.dueAt),
    answerPath: `/v1/privacy/forwarded/${r.id}`,
    listPath: '/v1/privacy/forwarded',
  };
}

export function personData(c: Contact, dueDays: number): Record<string, unknown> {
  return { requestId: c.requestId, kind: c.kind, phone: maskPhone(c.phone), count: c.forwarded ?? 0, dueDays };
}

export function outcomeData(
  r: Forwarded,
  c: Contact,
  business: string | null,
  keysUrl: string,
): Record<string, unknown> {
  const receipt = r.receipt as Receipt | null;
  return {
    requestId: c.requestId,
    kind: r.kind,
    phone: maskPhone(c.phone),
    outcome: r.status,
    note: r.note ?? '',
    business: business ?? '',
    ...(r.status === 'erased' && receipt
      ? {
          // notify writes the summary from its parts, in the message's language.
          receiptParts: receiptParts(receipt),
          receiptJson: JSON.stringify(r.receipt),
          keysUrl,
        }
      : {}),
  };
}
