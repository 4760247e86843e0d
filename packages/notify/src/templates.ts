/**
 * Kinds and their templates. A template is text with `{{name}}` placeholders, the same for both
 * parts of a message: the plain-text part gets the values as they are, the HTML part gets every
 * value escaped (and links' targets escaped as attributes), so a business name cannot inject markup.
 * Every value is put on one line first (oneLine: control characters, line and paragraph separators
 * become a space, bidi overrides and isolates go), so a name cannot start a paragraph of its own
 * ("SECURITY ALERT ... Verify now at https://...", issue 30 item 6); subjects are one line too. A
 * placeholder the data lacks fails the render.
 */
import { templateData } from './errors.js';

/** Security and legal notices cannot be turned off; optional ones honour the account's preference. */
export type Category = 'security' | 'legal' | 'optional';

/** A paragraph, or a link (label and target). */
export type Block = string | { label: string; href: string };

export interface Template {
  subject: string;
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
}

const KIND_LABELS: Record<string, string> = {
  access: 'access',
  portability: 'data export (portability)',
  correction: 'correction',
  deletion: 'deletion',
  restriction: 'restriction of processing',
  objection: 'objection',
  withdraw_consent: 'consent withdrawal',
  // A request emailed to the privacy mailbox whose kind the text does not make clear (issue 32).
  unclassified: 'privacy',
};

const greeting = 'Hello {{name}},';
/** The policy's contact address (§6, §8, §12): the `privacyContact` option replaces it (the app's PRIVACY_CONTACT). */
export const DEFAULT_PRIVACY_CONTACT = 'privacy@harakaflow.io';
const signature = 'HarakaFlow privacy team ({{privacyContact}})';

/** What each status of a rights request says (§6). `extended` is an extension of its due date. */
function requestTemplate(data: Record<string, unknown>): Template {
  const subject = (s: string) => `HarakaFlow: your {{kindLabel}} request ${s}`;
  const ref = 'Request {{requestId}}.';
  const step = data.event === 'extended' ? 'extended' : data.event === 'lifted' ? 'lifted' : data.status === 'open' && data.verified === false ? 'unverified' : data.status === 'open' && data.event === 'verified' ? 'in_progress' : data.status;
  switch (step) {
    case 'open':
      return { subject: subject('was received'), blocks: [greeting, 'We received your {{kindLabel}} request. We answer by {{dueDate}} (within 30 days, privacy policy §6).', ref, signature] };
    // A request emailed to us (issue 30 item 9): nothing is done before we know it comes from you.
    // With a code (issue 32: a request read from the privacy mailbox), how to confirm it.
    case 'unverified':
      if (data.code) {
        return {
          subject: subject('was received: please confirm it is yours'),
          blocks: [
            greeting,
            'We received your {{kindLabel}} request. We answer by {{dueDate}} (within 30 days, privacy policy §6). Before we act on it, please confirm that it comes from you: enter this code on the page below before {{codeExpiresAt}}.',
            '{{code}}',
            { label: 'Confirm your request', href: '{{verifyUrl}}' },
            'The code works for 10 minutes; the page sends a new one if it has expired. If you did not write to us, ignore this message: nothing is done without the code.',
            ref,
            signature,
          ],
        };
      }
      return {
        subject: subject('was received: we need to confirm it is yours'),
        blocks: [greeting, 'We received your {{kindLabel}} request. Before we act on it we must confirm that it comes from you: we will write to you about how, and you can reply to this message. We answer by {{dueDate}} (within 30 days, privacy policy §6).', ref, signature],
      };
    case 'in_progress':
      return { subject: subject('is in progress'), blocks: [greeting, 'We are working on your {{kindLabel}} request. We answer by {{dueDate}} (within 30 days, privacy policy §6).', ref, signature] };
    // A restriction of processing ended (issue 30 item 10), by the account or by us with a reason.
    case 'lifted':
      return {
        subject: 'HarakaFlow: the restriction of processing of your account is lifted',
        blocks: [greeting, 'The restriction of processing of your account is lifted: from now on your data is processed again as the privacy policy describes (§6). The reason: {{reason}}', 'You can ask for a new restriction at any time.', ref, signature],
      };
    case 'extended':
      return { subject: subject('needs more time'), blocks: [greeting, 'We need more time for your {{kindLabel}} request. The new due date is {{dueDate}}. The reason: {{reason}}', ref, signature] };
    case 'fulfilled':
      if (data.exportUrl) {
        return {
          subject: 'HarakaFlow: your data export is ready',
          blocks: [greeting, 'The export you asked for is ready. The link works once, until {{exportExpiresAt}}.', { label: 'Download your data', href: '{{exportUrl}}' }, ref, signature],
        };
      }
      if (data.receipt && data.receiptJson) {
        // The signed receipt itself (issue 30 item 8): the person can check it with the published keys alone.
        return {
          subject: subject('is done'),
          blocks: [greeting, 'Your {{kindLabel}} request is done. What each part of the service erased and kept: {{receipt}}', 'The signed erasure receipt, to check with our public keys ({{keysUrl}}): {{receiptJson}}', ref, signature],
        };
      }
      if (data.receipt) return { subject: subject('is done'), blocks: [greeting, 'Your {{kindLabel}} request is done. What each part of the service erased and kept: {{receipt}}', ref, signature] };
      return { subject: subject('is done'), blocks: [greeting, 'Your {{kindLabel}} request is done.', ref, signature] };
    case 'denied':
      return { subject: subject('was declined'), blocks: [greeting, 'We could not carry out your {{kindLabel}} request. The reason: {{reason}}', 'You may complain to the Office of the Data Protection Commissioner (Kenya).', ref, signature] };
    case 'canceled':
      return { subject: subject('was cancelled'), blocks: [greeting, 'Your {{kindLabel}} request was cancelled.', ref, signature] };
    default:
      return { subject: subject('expired'), blocks: [greeting, 'Your {{kindLabel}} request expired: it was not verified within 30 days.', ref, signature] };
  }
}

export const KINDS: Record<string, KindSpec> = {
  'quota.warning': {
    category: 'optional',
    template: () => ({
      subject: 'HarakaFlow: {{percent}}% of your {{quota}} limit used',
      blocks: [
        greeting,
        '{{businessName}} has used {{used}} of its {{limit}} ({{quota}}). The limit resets at {{resetAt}}; past it, requests are refused with HTTP 429 until then.',
        'You receive this because quota warnings are on for your account.',
        { label: 'Stop quota warnings', href: '{{unsubscribeUrl}}' },
      ],
    }),
  },
  'policy.upcoming': {
    category: 'legal',
    template: () => ({
      subject: 'HarakaFlow privacy policy: changes take effect on {{effectiveDate}}',
      blocks: [
        greeting,
        'We are changing our privacy policy. Version {{version}} takes effect on {{effectiveDate}}, at least 14 days after this notice (privacy policy §11).',
        { label: 'Read the new policy', href: '{{policyUrl}}' },
        'If you keep using HarakaFlow after that date, you accept the new version. If you do not, you can export your data or delete your account before then.',
        signature,
      ],
    }),
  },
  // §5, §9, §11: a provider of the processor register starts or stops (issue 32 item 4).
  'subprocessors.upcoming': {
    category: 'legal',
    template: () => ({
      subject: 'HarakaFlow service providers: a change on {{effectiveDate}}',
      blocks: [
        greeting,
        'We are changing who processes personal data for us. {{change}}',
        'This takes effect on {{effectiveDate}}, at least {{noticeDays}} days after this notice (privacy policy §5 and §11).',
        { label: 'Read the register of our service providers', href: '{{registerUrl}}' },
        'If you object to this change, tell us before that date: this link opens an objection request, which we answer within 30 days (§6).',
        { label: 'Object to this change', href: '{{objectUrl}}' },
        signature,
      ],
    }),
  },
  // Sent to an account's address once it is verified (waiting up to the 30 days of §6); to an
  // emailed requester's address (no account) at once.
  'privacy.request.updated': { category: 'legal', unverified: { waitDays: 30 }, template: requestTemplate },
  // The one message an address gets before it is verified, besides security and policy notices.
  // Never the account's name (anyone can type any name at signup): the greeting is "Hello there,".
  'account.email.verification': {
    category: 'security',
    unverified: 'send',
    template: () => ({
      subject: 'HarakaFlow: confirm your email address',
      blocks: [
        greeting,
        'This address was given for a HarakaFlow account. To confirm it is yours, send this code with the account’s API key (POST {{verifyPath}}, {"code": "…"}) before {{expiresAt}}:',
        '{{code}}',
        'Until the address is confirmed we send it nothing but this code, security notices and notices of changes to our privacy policy. If you did not sign up, ignore this message.',
        signature,
      ],
    }),
  },
  // Issue 34 item 3: a webhook endpoint was disabled (a 410, or days of failures). It cannot be
  // turned off (nothing may stop silently), and it names the endpoint's origin, which the account
  // typed: it waits for a verified address (up to 30 days), as request updates do.
  'webhook.endpoint_disabled': {
    category: 'security',
    unverified: { waitDays: 30 },
    template: () => ({
      subject: 'HarakaFlow: your webhook endpoint {{endpointOrigin}} was disabled',
      blocks: [
        greeting,
        'We stopped sending webhooks to your endpoint {{endpointOrigin}} (id {{endpointId}}) on {{disabledAt}}: {{reason}}.',
        'Nothing is lost: its {{held}} waiting deliveries are kept, and so are the events of the time it stays disabled, for 30 days each. Once the endpoint works again, enable it (POST {{enablePath}}) and they are sent.',
        'Every attempt is in the delivery log (GET {{deliveriesPath}}); deliveries that failed for good can be queued again (POST {{recoverPath}} with {"since": "…"}).',
        signature,
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
      subject: 'HarakaFlow: your code to confirm your privacy request',
      blocks: [
        'Hello,',
        'A {{kindLabel}} request about this address was made to HarakaFlow. To confirm that it comes from you, enter this code on the request page before {{expiresAt}} (it works for 10 minutes and 5 tries):',
        '{{code}}',
        { label: 'Enter the code', href: '{{verifyUrl}}' },
        'If you did not ask, ignore this message: nothing is done without the code.',
        signature,
      ],
    }),
  },
  // Issue 32 item 3: a contact's request, passed to an account whose data holds the number (it
  // decides: HarakaFlow processes its contacts' data for it). Waits for a verified address, as
  // request updates do: it names a person's number.
  'privacy.request.forwarded': {
    category: 'legal',
    unverified: { waitDays: 30 },
    template: () => ({
      subject: 'HarakaFlow: a privacy request from one of your contacts, to answer by {{dueDate}}',
      blocks: [
        greeting,
        'A person showed us that the WhatsApp number {{phone}} is theirs and made a {{kindLabel}} request about it. Your account holds data about this number, and you decide about your contacts’ data (HarakaFlow processes it for you), so the request is yours to answer. Please answer by {{dueDate}}.',
        'Answer with one of your API keys: POST {{answerPath}}/fulfil when it is done (with a note the person reads), POST {{answerPath}}/deny with your reason, or POST {{answerPath}}/erase to have HarakaFlow erase this contact from your account’s data now (the person receives the signed receipt). Every request waiting for you: GET {{listPath}}.',
        'The person learns your business name only if you choose to tell them ("disclose": true).',
        'Forwarded request {{forwardedId}}.',
        signature,
      ],
    }),
  },
  // To the person (issue 32 item 3): how many businesses their request about their number went to.
  // No business is named: which accounts hold a number is theirs to tell.
  'privacy.contact.forwarded': {
    category: 'legal',
    unverified: 'send',
    template: (data) => ({
      subject: 'HarakaFlow: your {{kindLabel}} request about {{phone}}',
      blocks: [
        'Hello,',
        data.count === 0
          ? 'Thank you for proving that {{phone}} is your number. No business using HarakaFlow holds data about this number, so there is nobody to pass your {{kindLabel}} request to.'
          : data.count === 1
            ? 'Thank you for proving that {{phone}} is your number. We passed your {{kindLabel}} request to the one business using HarakaFlow that holds data about this number. It decides about that data and has {{dueDays}} days to answer; we email you its answer.'
            : 'Thank you for proving that {{phone}} is your number. We passed your {{kindLabel}} request to the {{count}} businesses using HarakaFlow that hold data about this number. Each decides about its own data and has {{dueDays}} days to answer; we email you each answer as it comes.',
        'Request {{requestId}}.',
        signature,
      ],
    }),
  },
  // To the person (issue 32 item 3): one business's answer. Its name only when it chose to give it.
  'privacy.contact.outcome': {
    category: 'legal',
    unverified: 'send',
    template: (data) => {
      const who = data.business ? 'The business {{business}}' : 'One of the businesses we passed your request to';
      const subject = 'HarakaFlow: an answer to your {{kindLabel}} request about {{phone}}';
      const ref = 'Request {{requestId}}.';
      if (data.outcome === 'erased') {
        return {
          subject,
          blocks: [
            'Hello,',
            `${who} had us erase {{phone}} from its data. What each part of the service erased and kept: {{receipt}}`,
            'The signed erasure receipt, to check with our public keys ({{keysUrl}}): {{receiptJson}}',
            ref,
            signature,
          ],
        };
      }
      if (data.outcome === 'denied') {
        return {
          subject,
          blocks: ['Hello,', `${who} declined your {{kindLabel}} request. Its reason, in its own words (not HarakaFlow’s): {{note}}`, 'You may complain to the Office of the Data Protection Commissioner (Kenya).', ref, signature],
        };
      }
      return {
        subject,
        blocks: ['Hello,', data.note ? `${who} says it has carried out your {{kindLabel}} request. Its note, in its own words (not HarakaFlow’s): {{note}}` : `${who} says it has carried out your {{kindLabel}} request.`, ref, signature],
      };
    },
  },
  'account.deletion.scheduled': {
    category: 'security',
    template: () => ({
      subject: 'HarakaFlow: your account will be deleted on {{purgeDate}}',
      blocks: [
        greeting,
        'We received a request to delete the account of {{businessName}}. Its API keys are suspended now, and on {{purgeDate}} its data is erased (privacy policy §4), except what the law makes us keep, which the erasure receipt lists.',
        'Changed your mind? Cancel before then with one of the account’s API keys: POST {{cancelPath}}.',
        'Request {{requestId}}.',
        signature,
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
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
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
}

/** Renders a kind's template with `data` into a subject and both parts. */
export function render(kind: string, data: Record<string, unknown>): Rendered {
  const spec = KINDS[kind];
  if (!spec) throw templateData(kind, 'a known kind');
  const values = { privacyContact: DEFAULT_PRIVACY_CONTACT, ...data, kindLabel: KIND_LABELS[String(data.kind)] ?? String(data.kind ?? '') };
  const template = spec.template(values);
  const plain = (s: string) => s;
  const subject = oneLine(fill(template.subject, values, kind, plain)).slice(0, 200);
  const text = template.blocks.map((b) => (typeof b === 'string' ? fill(b, values, kind, plain) : `${fill(b.label, values, kind, plain)}: ${fill(b.href, values, kind, plain)}`)).join('\n\n');
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"></head><body>',
    ...template.blocks.map((b) => (typeof b === 'string' ? `<p>${fill(b, values, kind, escapeHtml)}</p>` : `<p><a href="${fill(b.href, values, kind, escapeHtml)}">${fill(b.label, values, kind, escapeHtml)}</a></p>`)),
    '</body></html>',
  ].join('\n');
  return { subject, text: `${text}\n`, html };
}
