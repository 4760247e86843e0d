/**
 * Kinds and their templates. A template is text with `{{name}}` placeholders, the same for both
 * parts of a message: the plain-text part gets the values as they are, the HTML part gets every
 * value escaped (and links' targets escaped as attributes), so a business name cannot inject markup.
 * Subjects lose line breaks (no header injection). A placeholder the data lacks fails the render.
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

export interface KindSpec {
  category: Category;
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
};

const greeting = 'Hello {{name}},';
const signature = 'HarakaFlow privacy team (privacy@harakaflow.com)';

/** What each status of a rights request says (§6). `extended` is an extension of its due date. */
function requestTemplate(data: Record<string, unknown>): Template {
  const subject = (s: string) => `HarakaFlow: your {{kindLabel}} request ${s}`;
  const ref = 'Request {{requestId}}.';
  switch (data.event === 'extended' ? 'extended' : data.status) {
    case 'open':
    case 'in_progress':
      return { subject: subject('was received'), blocks: [greeting, 'We received your {{kindLabel}} request. We answer by {{dueDate}} (within 30 days, privacy policy §6).', ref, signature] };
    case 'extended':
      return { subject: subject('needs more time'), blocks: [greeting, 'We need more time for your {{kindLabel}} request. The new due date is {{dueDate}}. The reason: {{reason}}', ref, signature] };
    case 'fulfilled':
      if (data.exportUrl) {
        return {
          subject: 'HarakaFlow: your data export is ready',
          blocks: [greeting, 'The export you asked for is ready. The link works once, until {{exportExpiresAt}}.', { label: 'Download your data', href: '{{exportUrl}}' }, ref, signature],
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
  'privacy.request.updated': { category: 'legal', template: requestTemplate },
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

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The values a template may show: strings and numbers as they are, dates as ISO dates. */
function display(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
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
  const values = { ...data, kindLabel: KIND_LABELS[String(data.kind)] ?? String(data.kind ?? '') };
  const template = spec.template(values);
  const plain = (s: string) => s;
  const subject = fill(template.subject, values, kind, plain).replace(/[\r\n\t]+/g, ' ').slice(0, 200);
  const text = template.blocks.map((b) => (typeof b === 'string' ? fill(b, values, kind, plain) : `${fill(b.label, values, kind, plain)}: ${fill(b.href, values, kind, plain)}`)).join('\n\n');
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"></head><body>',
    ...template.blocks.map((b) => (typeof b === 'string' ? `<p>${fill(b, values, kind, escapeHtml)}</p>` : `<p><a href="${fill(b.href, values, kind, escapeHtml)}">${fill(b.label, values, kind, escapeHtml)}</a></p>`)),
    '</body></html>',
  ].join('\n');
  return { subject, text: `${text}\n`, html };
}
