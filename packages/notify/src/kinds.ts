/**
 * Every notification kind: its category, what it does for an unverified address, its template (templates.ts renders
 * them).
 */
import type { Block, KindSpec } from './template-types.js';
import { REF, SIGNATURE, given, hasBusiness, hello, receiptValues, requestTemplate } from './request-templates.js';

export const KINDS: Record<string, KindSpec> = {
  'quota.warning': {
    category: 'optional',
    template: (data) => ({
      subject: 'quota.warning.subject',
      blocks: [
        hello(data),
        hasBusiness(data) ? 'quota.warning.used' : 'quota.warning.usedAnonymous',
        'quota.warning.why',
        { label: 'quota.warning.stop', href: '{{unsubscribeUrl}}' },
      ],
    }),
  },
  'policy.upcoming': {
    category: 'legal',
    template: (data) => ({
      subject: 'policy.upcoming.subject',
      blocks: [
        hello(data),
        'policy.upcoming.change',
        { label: 'policy.upcoming.read', href: '{{policyUrl}}' },
        'policy.upcoming.accept',
        SIGNATURE,
      ],
    }),
  },
  // §5, §9, §11: a provider of the processor register starts or stops (issue 32 item 4). The
  // change by its parts (`changeType`, `providerName`...); a row queued before, as `change`.
  'subprocessors.upcoming': {
    category: 'legal',
    template: (data) => ({
      subject: 'subprocessors.upcoming.subject',
      blocks: [
        hello(data),
        data.changeType === 'added'
          ? 'subprocessors.upcoming.added'
          : data.changeType === 'removed'
            ? 'subprocessors.upcoming.removed'
            : 'subprocessors.upcoming.described',
        'subprocessors.upcoming.effect',
        { label: 'subprocessors.upcoming.register', href: '{{registerUrl}}' },
        'subprocessors.upcoming.objection',
        { label: 'subprocessors.upcoming.object', href: '{{objectUrl}}' },
        SIGNATURE,
      ],
    }),
  },
  // Sent to an account's address once it is verified (waiting up to the 30 days of §6); to an
  // emailed requester's address (no account) at once.
  'privacy.request.updated': {
    category: 'legal',
    unverified: { waitDays: 30 },
    template: requestTemplate,
    values: receiptValues,
  },
  // The one message an address gets before it is verified, besides security and policy notices.
  // Never the account's name (anyone can type any name at signup): the anonymous greeting.
  'account.email.verification': {
    category: 'security',
    unverified: 'send',
    template: (data) => ({
      subject: 'account.email.verification.subject',
      blocks: [
        hello(data),
        'account.email.verification.code',
        { value: '{{code}}' },
        'account.email.verification.until',
        SIGNATURE,
      ],
    }),
  },
  // Issue 34 item 3: a webhook endpoint was disabled (a 410, or days of failures). It cannot be
  // turned off (nothing may stop silently), and it names the endpoint's origin, which the account
  // typed: it waits for a verified address (up to 30 days), as request updates do. Why, by
  // `cause` (`gone`, or `failing` since `failingSince`); a row queued before, as `reason`.
  'webhook.endpoint_disabled': {
    category: 'security',
    unverified: { waitDays: 30 },
    template: (data) => ({
      subject: 'webhook.endpoint_disabled.subject',
      blocks: [
        hello(data),
        data.cause === 'gone'
          ? 'webhook.endpoint_disabled.gone'
          : data.cause === 'failing'
            ? given(data.failingSince)
              ? 'webhook.endpoint_disabled.failing'
              : 'webhook.endpoint_disabled.failingDays'
            : 'webhook.endpoint_disabled.described',
        'webhook.endpoint_disabled.held',
        'webhook.endpoint_disabled.log',
        SIGNATURE,
      ],
    }),
  },
  // The code that confirms a request made without an account (issue 32: the public form at
  // /privacy/request, or a new code for a request read from the privacy mailbox). Made when the
  // message is sent (the app's enrich), so the outbox never holds it. No name: nobody is known yet.
  'privacy.request.code': {
    category: 'security',
    unverified: 'send',
    template: () => ({
      subject: 'privacy.request.code.subject',
      blocks: [
        'common.greetingAnonymous',
        'privacy.request.code.code',
        { value: '{{code}}' },
        { label: 'privacy.request.code.link', href: '{{verifyUrl}}' },
        'privacy.request.code.ignore',
        SIGNATURE,
      ],
    }),
  },
  // Issue 32 item 3: a contact's request, passed to an account whose data holds the number (it
  // decides: HarakaFlow processes its contacts' data for it). Waits for a verified address, as
  // request updates do: it names a person's number.
  'privacy.request.forwarded': {
    category: 'legal',
    unverified: { waitDays: 30 },
    template: (data) => ({
      subject: 'privacy.request.forwarded.subject',
      blocks: [
        hello(data),
        'privacy.request.forwarded.asked',
        'privacy.request.forwarded.answer',
        'privacy.request.forwarded.disclose',
        'privacy.request.forwarded.ref',
        SIGNATURE,
      ],
    }),
  },
  // To the person (issue 32 item 3): how many businesses their request about their number went to.
  // No business is named: which accounts hold a number is theirs to tell.
  'privacy.contact.forwarded': {
    category: 'legal',
    unverified: 'send',
    template: (data) => ({
      subject: 'privacy.contact.forwarded.subject',
      blocks: [
        'common.greetingAnonymous',
        data.count === 0
          ? 'privacy.contact.forwarded.none'
          : data.count === 1
            ? 'privacy.contact.forwarded.one'
            : 'privacy.contact.forwarded.many',
        REF,
        SIGNATURE,
      ],
    }),
  },
  // To the person (issue 32 item 3): one business's answer, its note or reason marked as its own
  // words; its name only when it chose to give it.
  'privacy.contact.outcome': {
    category: 'legal',
    unverified: 'send',
    values: receiptValues,
    template: (data) => {
      const named = given(data.business);
      const tail: Block[] = [REF, SIGNATURE];
      if (data.outcome === 'erased') {
        return {
          subject: 'privacy.contact.outcome.subject',
          blocks: [
            'common.greetingAnonymous',
            named ? 'privacy.contact.outcome.erased.named' : 'privacy.contact.outcome.erased',
            'privacy.request.updated.done.signedReceipt',
            ...tail,
          ],
        };
      }
      if (data.outcome === 'denied') {
        return {
          subject: 'privacy.contact.outcome.subject',
          blocks: [
            'common.greetingAnonymous',
            named ? 'privacy.contact.outcome.denied.named' : 'privacy.contact.outcome.denied',
            'privacy.contact.outcome.complain',
            ...tail,
          ],
        };
      }
      const noted = given(data.note);
      return {
        subject: 'privacy.contact.outcome.subject',
        blocks: [
          'common.greetingAnonymous',
          named
            ? noted
              ? 'privacy.contact.outcome.fulfilled.named.note'
              : 'privacy.contact.outcome.fulfilled.named'
            : noted
              ? 'privacy.contact.outcome.fulfilled.note'
              : 'privacy.contact.outcome.fulfilled',
          ...tail,
        ],
      };
    },
  },
  'account.deletion.scheduled': {
    category: 'security',
    template: (data) => ({
      subject: 'account.deletion.scheduled.subject',
      blocks: [
        hello(data),
        hasBusiness(data) ? 'account.deletion.scheduled.when' : 'account.deletion.scheduled.whenAnonymous',
        'account.deletion.scheduled.cancel',
        REF,
        SIGNATURE,
      ],
    }),
  },
};

/** How long a kind waits for a verified address (ms), or null when it is sent to any address. */
export function unverifiedWaitMs(spec: KindSpec): number | null {
  const rule = spec.unverified ?? (spec.category === 'optional' ? { waitDays: 1 } : 'send');
  return rule === 'send' ? null : rule.waitDays * 86_400_000;
}

// C0 controls, DEL, C1 controls (NEL among them), and the Unicode line and paragraph separators:
// each run becomes one space. Bidi embeddings, overrides and isolates (U+202A-U+202E,
// U+2066-U+2069) go: they can make a value read as something else.
