/**
 * The building blocks of the templates (kinds.ts): greetings, the rights request's template per step, an erasure
 * receipt's summary.
 */
import type { MessageKey } from './languages.js';
import { NO_BUSINESS_NAME, NO_NAME, type Template } from './template-types.js';

export const given = (value: unknown) =>
  (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value));
const named = (data: Record<string, unknown>) => given(data.name) && data.name !== NO_NAME;
export const hasBusiness = (data: Record<string, unknown>) =>
  given(data.businessName) && data.businessName !== NO_BUSINESS_NAME;
export const hello = (data: Record<string, unknown>): MessageKey =>
  named(data) ? 'common.greeting' : 'common.greetingAnonymous';
export const SIGNATURE: MessageKey = 'common.signature';
export const REF: MessageKey = 'common.requestRef';

/** What each status of a rights request says (§6). `extended` is an extension of its due date. */
export function requestTemplate(data: Record<string, unknown>): Template {
  const greeting = hello(data);
  const step =
    data.event === 'extended'
      ? 'extended'
      : data.event === 'lifted'
        ? 'lifted'
        : data.status === 'open' && data.verified === false
          ? 'unverified'
          : data.status === 'open' && data.event === 'verified'
            ? 'in_progress'
            : data.status;
  switch (step) {
    case 'open':
      return {
        subject: 'privacy.request.updated.received.subject',
        blocks: [greeting, 'privacy.request.updated.received', REF, SIGNATURE],
      };
    // A request emailed to us (issue 30 item 9): nothing is done before we know it comes from you.
    // With a code (issue 32: a request read from the privacy mailbox), how to confirm it.
    case 'unverified':
      if (data.code) {
        return {
          subject: 'privacy.request.updated.confirmWithCode.subject',
          blocks: [
            greeting,
            'privacy.request.updated.confirmWithCode',
            { value: '{{code}}' },
            { label: 'privacy.request.updated.confirmWithCode.link', href: '{{verifyUrl}}' },
            'privacy.request.updated.confirmWithCode.help',
            REF,
            SIGNATURE,
          ],
        };
      }
      return {
        subject: 'privacy.request.updated.mustConfirm.subject',
        blocks: [greeting, 'privacy.request.updated.mustConfirm', REF, SIGNATURE],
      };
    case 'in_progress':
      return {
        subject: 'privacy.request.updated.inProgress.subject',
        blocks: [greeting, 'privacy.request.updated.inProgress', REF, SIGNATURE],
      };
    // A restriction of processing ended (issue 30 item 10): by the account itself, or by us with a
    // reason. (A row queued before `liftedBy` existed carries the reason either way.)
    case 'lifted':
      return {
        subject: 'privacy.request.updated.lifted.subject',
        blocks: [
          greeting,
          data.liftedBy === 'self' || !given(data.reason)
            ? 'privacy.request.updated.lifted.byYou'
            : 'privacy.request.updated.lifted.byUs',
          'privacy.request.updated.lifted.again',
          REF,
          SIGNATURE,
        ],
      };
    case 'extended':
      return {
        subject: 'privacy.request.updated.extended.subject',
        blocks: [
          greeting,
          given(data.reason) ? 'privacy.request.updated.extended' : 'privacy.request.updated.extended.noReason',
          REF,
          SIGNATURE,
        ],
      };
    case 'fulfilled':
      if (data.exportUrl) {
        return {
          subject: 'privacy.request.updated.exportReady.subject',
          blocks: [
            greeting,
            'privacy.request.updated.exportReady',
            { label: 'privacy.request.updated.exportReady.link', href: '{{exportUrl}}' },
            REF,
            SIGNATURE,
          ],
        };
      }
      // The signed receipt itself (issue 30 item 8): the person can check it with the published keys alone.
      if (data.receipt && data.receiptJson) {
        return {
          subject: 'privacy.request.updated.done.subject',
          blocks: [
            greeting,
            'privacy.request.updated.done.receipt',
            'privacy.request.updated.done.signedReceipt',
            REF,
            SIGNATURE,
          ],
        };
      }
      if (data.receipt)
        return {
          subject: 'privacy.request.updated.done.subject',
          blocks: [greeting, 'privacy.request.updated.done.receipt', REF, SIGNATURE],
        };
      return {
        subject: 'privacy.request.updated.done.subject',
        blocks: [greeting, 'privacy.request.updated.done', REF, SIGNATURE],
      };
    case 'denied':
      return {
        subject: 'privacy.request.updated.denied.subject',
        blocks: [
          greeting,
          given(data.reason) ? 'privacy.request.updated.denied' : 'privacy.request.updated.denied.noReason',
          'privacy.request.updated.denied.complain',
          REF,
          SIGNATURE,
        ],
      };
    case 'canceled':
      return {
        subject: 'privacy.request.updated.canceled.subject',
        blocks: [greeting, 'privacy.request.updated.canceled', REF, SIGNATURE],
      };
    default:
      return {
        subject: 'privacy.request.updated.expired.subject',
        blocks: [greeting, 'privacy.request.updated.expired', REF, SIGNATURE],
      };
  }
}

/**
 * An erasure receipt's summary in the message's language, from `receiptParts` (per part of the
 * service: `{ part, erased, kept, keptReason? }`): each part a text of its own, joined by "; ".
 * Without them (a row queued before), the `receipt` the row carries.
 */
export function receiptValues(
  data: Record<string, unknown>,
  text: (key: MessageKey, values: Record<string, unknown>) => string,
): Record<string, unknown> {
  if (!Array.isArray(data.receiptParts)) return {};
  const parts = (data.receiptParts as unknown[]).filter(
    (p): p is Record<string, unknown> => typeof p === 'object' && p !== null,
  );
  return {
    receipt: parts
      .map((p) =>
        !Number(p.kept)
          ? text('privacy.request.updated.receipt.part', p)
          : given(p.keptReason)
            ? text('privacy.request.updated.receipt.partKept', { ...p, reason: p.keptReason })
            : text('privacy.request.updated.receipt.partKeptByLaw', p),
      )
      .join('; '),
  };
}
