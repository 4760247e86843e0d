/**
 * The processor register (privacy policy §5 "Service providers", §9 "International transfers";
 * issue 32 item 4): who processes personal data on HarakaFlow's behalf, for what, where, and under
 * which transfer safeguard. Data, not prose: served as `GET /v1/privacy/subprocessors` and the page
 * `/privacy/subprocessors`, fed to every export's Article 15 section, and its future changes (a
 * provider that starts or stops) are announced to every account through notify at least
 * SUBPROCESSOR_NOTICE_DAYS (30; never under 14, §11) before they take effect.
 *
 * The operator's register replaces this one with SUBPROCESSORS_FILE (a JSON array of the same
 * entries), checked at startup like every other setting.
 */
import type { Announcement } from '@harakaflow/notify';
import { plainText, type PageLanguage } from '../languages/languages.js';
import type { RegisterChange, Subprocessor } from './subprocessor-types.js';

export { checkRegister } from './subprocessor-register-check.js';
export type { RegisterChange, Subprocessor, TransferMechanism } from './subprocessor-types.js';

/**
 * HarakaFlow's providers, by the policy's three kinds (§5: infrastructure, payment processing and
 * analytics) and the two a WhatsApp automation service cannot run without: the WhatsApp Business
 * Platform itself and the mail relay. An operator publishes its own with SUBPROCESSORS_FILE.
 */
export const SUBPROCESSORS: Subprocessor[] = [
  {
    id: 'meta-whatsapp',
    name: 'Meta Platforms Ireland Ltd (WhatsApp Business Platform)',
    purpose: 'Carries the WhatsApp messages accounts send and receive',
    dataCategories: ['contact phone numbers', 'message content', 'message delivery status'],
    location: 'European Union, United States',
    transfer: { mechanism: 'dpf', note: 'Meta Platforms, Inc. is certified under the EU-U.S. Data Privacy Framework' },
    contractUrl: 'https://www.whatsapp.com/legal/business-data-processing-terms',
    since: '2025-01-01',
  },
  {
    id: 'hosting',
    name: 'Cloud hosting provider (compute, PostgreSQL, Redis, backups)',
    purpose: 'Runs the API and keeps its database, quotas and backups (infrastructure, §5)',
    dataCategories: [
      'account details',
      'contact phone numbers',
      'message logs',
      'technical data (IP address, user agent)',
      'encrypted credentials',
    ],
    location: 'European Union (Frankfurt)',
    transfer: { mechanism: 'none' },
    contractUrl: 'https://harakaflow.io/legal/dpa/hosting',
    since: '2025-01-01',
  },
  {
    id: 'mail-relay',
    name: 'Transactional email relay',
    purpose:
      'Delivers the messages the service sends: verification codes, security and policy notices, answers to privacy requests',
    dataCategories: ['email address', 'message content of notices'],
    location: 'European Union',
    transfer: { mechanism: 'none' },
    contractUrl: 'https://harakaflow.io/legal/dpa/mail',
    since: '2025-01-01',
  },
  {
    id: 'payments',
    name: 'Payment processor',
    purpose: 'Takes payment for paid plans (payment processing, §5); card numbers never reach HarakaFlow',
    dataCategories: ['business name', 'billing email address', 'payment details'],
    location: 'United States',
    transfer: { mechanism: 'scc', sccModule: 2, note: 'Standard Contractual Clauses, controller to processor' },
    contractUrl: 'https://harakaflow.io/legal/dpa/payments',
    since: '2025-01-01',
  },
  {
    id: 'analytics',
    name: 'Product analytics (self-hosted)',
    purpose: 'Counts how the dashboard is used, only with analytics consent (analytics, §5; cookie consent, §7)',
    dataCategories: ['pseudonymous visitor id', 'pages visited'],
    location: 'European Union (Frankfurt)',
    transfer: { mechanism: 'none' },
    contractUrl: 'https://harakaflow.io/legal/dpa/hosting',
    since: '2025-01-01',
  },
];

/** Every change the register describes, in the order they take effect. */
export function registerChanges(register: readonly Subprocessor[]): RegisterChange[] {
  const changes: RegisterChange[] = [];
  for (const p of register) {
    changes.push({ key: `${p.id}:added:${p.since}`, change: 'added', effectiveDate: p.since, provider: p });
    if (p.until)
      changes.push({ key: `${p.id}:removed:${p.until}`, change: 'removed', effectiveDate: p.until, provider: p });
  }
  return changes.sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate) || a.key.localeCompare(b.key));
}

/** The register as people read it on `day` (YYYY-MM-DD): who processes data now, and what changes next. */
export function registerView(register: readonly Subprocessor[], day: string) {
  const current = register.filter((p) => p.since <= day && (!p.until || p.until > day));
  const upcoming = registerChanges(register)
    .filter((c) => c.effectiveDate > day)
    .map((c) => ({ change: c.change, effectiveDate: c.effectiveDate, id: c.provider.id, name: c.provider.name }));
  return { current, upcoming };
}

/** The sentence a notice and the page say about a change. */
export function describeChange(c: Pick<RegisterChange, 'change' | 'effectiveDate' | 'provider'>): string {
  const p = c.provider;
  return c.change === 'added'
    ? `From ${c.effectiveDate}, ${p.name} (${p.location}) will process ${p.dataCategories.join(', ')} for us: ${p.purpose}.`
    : `From ${c.effectiveDate}, ${p.name} will no longer process data for us.`;
}

/** The transfer safeguard in words. */
export function describeTransfer(t: Subprocessor['transfer']): string {
  const base =
    t.mechanism === 'none'
      ? 'No transfer: processed where it was collected'
      : t.mechanism === 'adequacy'
        ? 'Adequacy decision'
        : t.mechanism === 'scc'
          ? `Standard Contractual Clauses (module ${t.sccModule})`
          : 'EU-U.S. Data Privacy Framework';
  return t.note ? `${base}. ${t.note}` : base;
}

/** The key an objection link carries for a change (`subprocessors:<change key>`). */
export const objectionKey = (c: Pick<RegisterChange, 'key'>) => `subprocessors:${c.key}`;

/**
 * Notify's announcements of the register's changes (§11): one `subprocessors.upcoming` notice per
 * account and change, at least `noticeDays` before it takes effect, with a link to the register
 * and one that opens an objection request about that change.
 */
export function registerAnnouncements(
  register: readonly Subprocessor[],
  noticeDays: number,
  publicUrl: string,
): Announcement[] {
  return registerChanges(register).map((c) => ({
    key: objectionKey(c),
    kind: 'subprocessors.upcoming',
    effectiveAt: new Date(`${c.effectiveDate}T00:00:00Z`),
    noticeDays,
    what: 'the processor register change',
    // The change by its parts, which each language's text puts in its own sentence (issue 32 item
    // 7); `change`, the English sentence, for replicas of the previous version.
    data: {
      changeType: c.change,
      providerName: c.provider.name,
      providerLocation: c.provider.location,
      dataCategories: c.provider.dataCategories.join(', '),
      purpose: c.provider.purpose,
      change: describeChange(c),
      effectiveDate: c.effectiveDate,
      noticeDays: String(noticeDays),
      registerUrl: `${publicUrl}/privacy/subprocessors`,
      objectUrl: `${publicUrl}/privacy/request?kind=objection&about=${encodeURIComponent(objectionKey(c))}`,
    },
  }));
}

/**
 * The change an objection link names, as the text the request carries, in the form's language (a
 * whole sentence per kind of change); undefined when the register has no such change.
 */
export function objectionDetails(
  register: readonly Subprocessor[],
  about: string,
  lang: PageLanguage = 'en',
): string | undefined {
  const c = registerChanges(register).find((change) => objectionKey(change) === about);
  if (!c) return undefined;
  const values = {
    key: objectionKey(c),
    effectiveDate: c.effectiveDate,
    providerName: c.provider.name,
    providerLocation: c.provider.location,
    dataCategories: c.provider.dataCategories.join(', '),
    purpose: c.provider.purpose,
  };
  return plainText(lang, c.change === 'added' ? 'form.objection.added' : 'form.objection.removed', values);
}
