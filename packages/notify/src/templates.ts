/**
 * Kinds and their templates. A template names texts of the language catalogues (languages.ts,
 * messages/*.ts): a subject and paragraphs, links and bare values, each text with `{{name}}`
 * placeholders. The same template serves both parts of a message in every language: the plain-text
 * part gets the values as they are, the HTML part gets every value escaped (and links' targets
 * escaped as attributes), so a business name cannot inject markup.
 * Every value is put on one line first (oneLine: control characters, line and paragraph separators
 * become a space, bidi overrides and isolates go), so a name cannot start a paragraph of its own
 * ("SECURITY ALERT ... Verify now at https://...", issue 30 item 6); subjects are one line too. A
 * placeholder the data lacks fails the render.
 *
 * Adding a kind: its texts in every catalogue (messages/en.ts says how), then its KindSpec in KINDS
 * below, choosing a text per case where the sentence changes with the data.
 */
import { templateData } from './errors.js';
import { CATALOGUES, DEFAULT_LANGUAGE, languageOf, type Language, type MessageKey } from './languages.js';

/** Security and legal notices cannot be turned off; optional ones honour the account's preference. */
export type Category = 'security' | 'legal' | 'optional';

/** A paragraph (a catalogue text), a link (a text as its label, a target), or a bare value that no language changes (a code). */
export type Block = MessageKey | { label: MessageKey; href: string } | { value: string };

/** What a message says, by catalogue key: the same in every language. */
export interface Template {
  subject: MessageKey;
  blocks: Block[];
}

/**
 * What a message of this kind does while the account's address is not verified (issue 30 item 6):
 * `send` (the verification message, security notices, §11 policy notices: a legal duty), or wait up
 * to `waitDays` for the address to be verified (sent at once when it is), then dropped (`suppressed`).
 */
export type Unverified = 'send' | { waitDays: number };

export interface KindSpec {
  category: Category;
  /** Default: `send` for security and legal kinds, a day's wait for optional ones. */
  unverified?: Unverified | undefined;
  /** The template for this notification's data (a kind may have variants, e.g. per request status). */
  template(data: Record<string, unknown>): Template;
  /**
   * Values made from the data in the message's language (`text` fills a catalogue text with values):
   * a list written from its items, never a sentence from pieces.
   */
  values?:
    | ((
        data: Record<string, unknown>,
        text: (key: MessageKey, values: Record<string, unknown>) => string,
      ) => Record<string, unknown>)
    | undefined;
}

/** The texts of what a rights request asks for (`{{kindLabel}}`). */
const KIND_LABELS: Record<string, MessageKey> = {
  access: 'request.kind.access',
  portability: 'request.kind.portability',
  correction: 'request.kind.correction',
  deletion: 'request.kind.deletion',
  restriction: 'request.kind.restriction',
  objection: 'request.kind.objection',
  withdraw_consent: 'request.kind.withdraw_consent',
  // A request emailed to the privacy mailbox whose kind the text does not make clear (issue 32).
  unclassified: 'request.kind.unclassified',
};

/** The policy's contact address (§6, §8, §12): the `privacyContact` option replaces it (the app's PRIVACY_CONTACT). */
export const DEFAULT_PRIVACY_CONTACT = 'privacy@harakaflow.io';

/**
 * What rows queued before messages had languages carry, and still carry for replicas of that
 * version (which greet `Hello {{name}},`), when the recipient has no name or business name: read
 * as none, so every language greets nobody in its own words.
 */
export const NO_NAME = 'there';
export const NO_BUSINESS_NAME = 'your account';

const given = (value: unknown) =>
  (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value));
const named = (data: Record<string, unknown>) => given(data.name) && data.name !== NO_NAME;
const hasBusiness = (data: Record<string, unknown>) =>
  given(data.businessName) && data.businessName !== NO_BUSINESS_NAME;
const hello = (data: Record<string, unknown>): MessageKey =>
  named(data) ? 'common.greeting' : 'common.greetingAnonymous';
const SIGNATURE: MessageKey = 'common.signature';
const REF: MessageKey = 'common.requestRef';

/** What each status of a rights request says (§6). `extended` is an extension of its due date. */
function requestTemplate(data: Record<string, unknown>): Template {
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
function receiptValues(
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

const PLACEHOLDER = /\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g;

/** How long a kind waits for a verified address (ms), or null when it is sent to any address. */
export function unverifiedWaitMs(spec: KindSpec): number | null {
  const rule = spec.unverified ?? (spec.category === 'optional' ? { waitDays: 1 } : 'send');
  return rule === 'send' ? null : rule.waitDays * 86_400_000;
}

// C0 controls, DEL, C1 controls (NEL among them), and the Unicode line and paragraph separators:
// each run becomes one space. Bidi embeddings, overrides and isolates (U+202A-U+202E,
// U+2066-U+2069) go: they can make a value read as something else.
// eslint-disable-next-line no-control-regex -- control characters are what this removes
const BREAKS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;

/** A template value on one line, as every message shows it. */
export function oneLine(value: string): string {
  return value.replace(BIDI, '').replace(BREAKS, ' ');
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** The values a template may show: strings and numbers as they are, dates as ISO dates. */
function display(value: unknown): string | undefined {
  if (typeof value === 'string') return oneLine(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (value instanceof Date) return value.toISOString();
  return undefined;
}

function fill(text: string, data: Record<string, unknown>, kind: string, escape: (s: string) => string): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = display(data[name]);
    if (value === undefined) throw templateData(kind, name);
    return escape(value);
  });
}

export interface Rendered {
  subject: string;
  text: string;
  html: string;
  /** The language it is written in (its `Content-Language`). */
  lang: Language;
}

/**
 * Renders a kind's template with `data` into a subject and both parts, in `lang` (one of
 * LANGUAGES; anything else, or none, is English).
 */
export function render(kind: string, data: Record<string, unknown>, lang: unknown = DEFAULT_LANGUAGE): Rendered {
  const spec = KINDS[kind];
  if (!spec) throw templateData(kind, 'a known kind');
  const language = languageOf(lang);
  const texts = CATALOGUES[language];
  const label = KIND_LABELS[String(data.kind)];
  let values: Record<string, unknown> = {
    privacyContact: DEFAULT_PRIVACY_CONTACT,
    ...data,
    kindLabel: label ? texts[label] : String(data.kind ?? ''),
  };
  if (spec.values) values = { ...values, ...spec.values(values, (key, v) => fill(texts[key], v, kind, (s) => s)) };
  const template = spec.template(values);
  const part = (b: Block, escape: (s: string) => string) =>
    typeof b === 'string'
      ? fill(texts[b], values, kind, escape)
      : 'value' in b
        ? fill(b.value, values, kind, escape)
        : { label: fill(texts[b.label], values, kind, escape), href: fill(b.href, values, kind, escape) };
  const plain = (s: string) => s;
  const subject = oneLine(fill(texts[template.subject], values, kind, plain)).slice(0, 200);
  const text = template.blocks
    .map((b) => part(b, plain))
    .map((p) => (typeof p === 'string' ? p : `${p.label}: ${p.href}`))
    .join('\n\n');
  const html = [
    `<!doctype html><html lang="${language}"><head><meta charset="utf-8"></head><body>`,
    ...template.blocks
      .map((b) => part(b, escapeHtml))
      .map((p) => (typeof p === 'string' ? `<p>${p}</p>` : `<p><a href="${p.href}">${p.label}</a></p>`)),
    '</body></html>',
  ].join('\n');
  return { subject, text: `${text}\n`, html, lang: language };
}
