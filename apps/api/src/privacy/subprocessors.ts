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

/** How personal data may leave Kenya and the EEA to this provider (§9). */
export type TransferMechanism = 'none' | 'adequacy' | 'scc' | 'dpf';

export interface Subprocessor {
  /** Stable identifier (lower-case letters, digits and -): the key of its change notices. */
  id: string;
  name: string;
  purpose: string;
  /** What of a person's data it receives (non-empty). */
  dataCategories: string[];
  /** Where it processes the data: a country or region, as people say it. */
  location: string;
  /**
   * `none`: the data stays where it was collected (no transfer); `adequacy`: an adequacy decision
   * covers the destination; `scc`: Standard Contractual Clauses (2021/914), with their module (1 to
   * 4); `dpf`: the EU-U.S. Data Privacy Framework (the provider is certified).
   */
  transfer: { mechanism: TransferMechanism; sccModule?: 1 | 2 | 3 | 4 | undefined; note?: string | undefined };
  /** The contract or data processing terms (https). */
  contractUrl: string;
  /** Day it starts (YYYY-MM-DD, UTC). */
  since: string;
  /** Day it stops (YYYY-MM-DD, UTC, after `since`); unset while it stays. */
  until?: string | undefined;
}

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

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MECHANISMS: readonly TransferMechanism[] = ['none', 'adequacy', 'scc', 'dpf'];
const TEXT_MAX = 500;

const isDay = (v: unknown): v is string =>
  typeof v === 'string' &&
  DAY.test(v) &&
  !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) &&
  new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) === v;
/** One line of plain text: no control characters, line separators, bidi marks and overrides or invisible characters (it is shown on a page and in mail, where one name must not pass for another). */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const isText = (v: unknown, max = TEXT_MAX): v is string =>
  typeof v === 'string' &&
  v.trim() !== '' &&
  v.length <= max &&
  !/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/.test(v);

/**
 * Checks a register (the parsed JSON of SUBPROCESSORS_FILE): returns it typed, or the problems,
 * each naming the entry (by index and id) and the field. Unknown fields are problems too (a typo
 * in `until` must not silently keep a provider listed).
 */
export function checkRegister(input: unknown): { register: Subprocessor[]; problems: string[] } {
  const problems: string[] = [];
  if (!Array.isArray(input)) return { register: [], problems: ['must be a JSON array of providers'] };
  if (input.length > 200) return { register: [], problems: [`holds ${input.length} providers: at most 200`] };
  const seen = new Set<string>();
  const allowed = new Set([
    'id',
    'name',
    'purpose',
    'dataCategories',
    'location',
    'transfer',
    'contractUrl',
    'since',
    'until',
  ]);
  input.forEach((raw: unknown, i) => {
    const e = raw as Record<string, unknown> | null;
    const at = `entry ${i}${e && typeof e.id === 'string' && ID.test(e.id) ? ` (${e.id})` : ''}`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return void problems.push(`${at}: must be an object`);
    for (const key of Object.keys(e))
      if (!allowed.has(key)) problems.push(`${at}: unknown field ${JSON.stringify(key.slice(0, 40))}`);
    if (typeof e.id !== 'string' || !ID.test(e.id))
      problems.push(`${at}: id must be lower-case letters, digits and - (at most 63)`);
    else if (seen.has(e.id)) problems.push(`${at}: id is used twice`);
    else seen.add(e.id);
    for (const key of ['name', 'purpose', 'location'] as const)
      if (!isText(e[key])) problems.push(`${at}: ${key} must be one line of text (at most ${TEXT_MAX} characters)`);
    if (
      !Array.isArray(e.dataCategories) ||
      !e.dataCategories.length ||
      e.dataCategories.length > 30 ||
      !e.dataCategories.every((c) => isText(c, 100))
    ) {
      problems.push(`${at}: dataCategories must list 1 to 30 categories, each one line of at most 100 characters`);
    }
    const t = e.transfer as Record<string, unknown> | null | undefined;
    if (typeof t !== 'object' || t === null || !MECHANISMS.includes(t.mechanism as TransferMechanism)) {
      problems.push(`${at}: transfer.mechanism must be one of ${MECHANISMS.join(', ')}`);
    } else {
      if (t.mechanism === 'scc' && ![1, 2, 3, 4].includes(t.sccModule as number))
        problems.push(`${at}: transfer.sccModule must be 1, 2, 3 or 4 with mechanism scc`);
      if (t.mechanism !== 'scc' && t.sccModule !== undefined)
        problems.push(`${at}: transfer.sccModule is for mechanism scc only`);
      if (t.note !== undefined && !isText(t.note)) problems.push(`${at}: transfer.note must be one line of text`);
      for (const key of Object.keys(t))
        if (!['mechanism', 'sccModule', 'note'].includes(key))
          problems.push(`${at}: unknown field transfer.${key.slice(0, 40)}`);
    }
    let url: URL | null = null;
    try {
      url = typeof e.contractUrl === 'string' && e.contractUrl.length <= 500 ? new URL(e.contractUrl) : null;
    } catch {
      url = null;
    }
    if (!url || url.protocol !== 'https:' || url.username || url.password)
      problems.push(`${at}: contractUrl must be an https URL without credentials`);
    if (!isDay(e.since)) problems.push(`${at}: since must be a day, YYYY-MM-DD`);
    if (e.until !== undefined && (!isDay(e.until) || (isDay(e.since) && e.until <= e.since)))
      problems.push(`${at}: until must be a day (YYYY-MM-DD) after since`);
  });
  // The contract link as the URL parser reads it (what was checked), not as written.
  return {
    register: problems.length
      ? []
      : (input as Subprocessor[]).map((p) => ({ ...p, contractUrl: new URL(p.contractUrl).href })),
    problems,
  };
}

/** A provider that starts or stops on a day: what is announced (once per account) before it takes effect. */
export interface RegisterChange {
  /** `<provider id>:added:<day>` or `<provider id>:removed:<day>`: the notice's key. */
  key: string;
  change: 'added' | 'removed';
  effectiveDate: string;
  provider: Subprocessor;
}

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
