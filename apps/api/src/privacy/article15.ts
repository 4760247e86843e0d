/**
 * Each export's Article 15 statement (issue 32 item 5), from the app's registries rather than
 * written by hand per export: the policy's purposes (§2) and categories (§1) as catalogues, what
 * each personal-data handler holds (below: a test fails when a registered handler has no entry),
 * the retention registry (§4) for the classes of the parts that hold records, the processor
 * register (§5, §9) in force on the day, and the rights (§6) with where to use them.
 */
import type { Article15, Article15Builder, Article15Item } from '@harakaflow/data-rights';
import type { RetentionClass, SubjectKind } from '@harakaflow/core';
import { describeTransfer, type Subprocessor } from './subprocessors.js';

/** §2 "How We Use Your Information", each line keyed. */
export const PURPOSES = {
  service: 'Provide, maintain, and improve the Service',
  billing: 'Process transactions and send billing-related communications',
  notifications: 'Send service-related notifications (e.g., session status, rate limit warnings)',
  support: 'Respond to support requests and inquiries',
  abuse: 'Monitor usage to enforce quotas, prevent abuse, and ensure platform stability',
  analytics: 'Analyze aggregate usage patterns to improve features and performance',
  legal: 'Comply with legal obligations',
} as const;
export type Purpose = keyof typeof PURPOSES;
/**
 * The uses an objection can name (issue 32 item 6; §6: "object to processing based on legitimate
 * interests"): every §2 purpose but complying with the law, which is an obligation, not an interest.
 * The admin weighs each objection; the list only says what it is about.
 */
export const OBJECTION_PURPOSES = [
  'service',
  'billing',
  'notifications',
  'support',
  'abuse',
  'analytics',
] as const satisfies readonly Purpose[];

/** §1 "Information We Collect", each kind keyed. */
export const CATEGORIES = {
  account: 'Account information: name, email address, business name (and payment details on paid plans)',
  usage: 'Usage data: message logs, contact lists, session configurations and API activity associated with the account',
  whatsapp: 'WhatsApp data: message content and contact information processed on the account holder’s behalf',
  technical: 'Technical data: IP address, browser type, device information, pages visited and timestamps',
  communications: 'Communications: emails and requests exchanged with us, and the notices we sent',
} as const;
export type Category = keyof typeof CATEGORIES;

/**
 * What a personal-data handler holds: its categories, why, where it comes from, and (when it names no retention class
 * itself) its class.
 */
export interface HandlerData {
  categories: Category[];
  purposes: Purpose[];
  /**
   * Where its data comes from, per kind of subject (`account`: the person's own account; `contact`: a business's
   * contact).
   */
  source: Partial<Record<SubjectKind, string>> & { account: string };
  /**
   * Classes its data is kept under beside those the handler names itself (what it keeps until the account goes:
   * `deleted_accounts`).
   */
  retentionClasses?: string[];
}

/** Every handler the app registers (a test keeps this complete). */
export const HANDLER_DATA: Record<string, HandlerData> = {
  app: {
    categories: ['account'],
    purposes: ['service', 'billing', 'legal'],
    source: { account: 'You, when you signed up and when you corrected your details' },
    retentionClasses: ['deleted_accounts'],
  },
  messages: {
    categories: ['usage', 'whatsapp'],
    purposes: ['service', 'abuse'],
    source: {
      account: 'Your use of the API: the messages you sent through your WhatsApp sessions',
      contact: 'The businesses that messaged your number through the service (our customers)',
    },
  },
  audit: {
    categories: ['technical'],
    purposes: ['abuse', 'legal'],
    source: { account: 'Collected automatically from each request made with your account or its keys' },
  },
  audit_streams: {
    categories: ['technical'],
    purposes: ['service'],
    source: {
      account:
        'You, when you registered a destination for your audit trail (issue 33: the addresses your events are sent to)',
    },
  },
  consent: {
    categories: ['technical'],
    purposes: ['legal'],
    source: { account: 'Your cookie choices on our pages (kept as the proof of what you chose)' },
  },
  notify: {
    categories: ['communications'],
    purposes: ['notifications', 'legal'],
    source: { account: 'The notices we sent you, and your email preferences' },
  },
  quota: {
    categories: ['usage'],
    purposes: ['abuse', 'billing'],
    source: { account: 'Counted automatically from your requests and messages' },
  },
  webhooks: {
    categories: ['usage'],
    purposes: ['service'],
    source: { account: 'The webhook endpoints you registered, and our deliveries to them' },
    // Deliveries go by their own class (the handler names it); endpoints stay until the account goes.
    retentionClasses: ['deleted_accounts'],
  },
  vault: {
    categories: ['usage'],
    purposes: ['service'],
    source: { account: 'You, when you connected a WhatsApp session or stored a credential (kept encrypted)' },
    retentionClasses: ['deleted_accounts'],
  },
  data_rights: {
    categories: ['communications'],
    purposes: ['legal'],
    source: {
      account: 'Your privacy requests, by the privacy centre, the form or email',
      contact: 'Your privacy requests',
      email: 'Your privacy requests, by the form or email',
    },
    retentionClasses: ['rights_requests'],
  },
  age_gate: {
    categories: ['account'],
    purposes: ['legal'],
    source: { account: 'You, when you gave your date of birth at signup (§8: no one under 18)' },
    retentionClasses: ['deleted_accounts'],
  },
};

/**
 * Classes whose period counts from the account's deletion, not from when a row was made: stated without a number of
 * days.
 */
const UNTIL_DELETION = new Set(['deleted_accounts']);

export interface Article15Settings {
  controller: string;
  privacyContact: string;
  publicUrl: string;
  register: readonly Subprocessor[];
  retentionClasses: () => readonly RetentionClass[];
  /**
   * The plan of the account the subject belongs to (an account, or a contact's owner): the period of classes that
   * differ by plan.
   */
  planOf?: ((accountId: string) => Promise<string | undefined>) | undefined;
  handlers?: Record<string, HandlerData>;
}

/** The builder data-rights calls for each export. */
export function article15Builder(s: Article15Settings): Article15Builder {
  const handlers = s.handlers ?? HANDLER_DATA;
  return async ({ ref, parts, generatedAt }) => {
    // Only what this export holds: an empty part says nothing about the person.
    const held = parts.filter((p) => p.holds);
    const described = held.filter((p) => handlers[p.name]).map((p) => p.name);
    const items = <K extends string>(catalogue: Record<K, string>, of: (h: HandlerData) => K[]): Article15Item[] =>
      (Object.keys(catalogue) as K[])
        .map((key) => ({
          key,
          text: catalogue[key],
          parts: described.filter((name) => of(handlers[name]!).includes(key)),
        }))
        .filter((i) => i.parts.length > 0);
    const plan = 'accountId' in ref && s.planOf ? await s.planOf(ref.accountId) : undefined;
    const classes = new Map(s.retentionClasses().map((c) => [c.name, c]));
    const retention = new Map<string, string[]>();
    for (const part of held) {
      // The classes the handler names itself (the registry's) and those the app adds for what it keeps until the
      // account goes.
      for (const c of new Set([...part.retentionClasses, ...(handlers[part.name]?.retentionClasses ?? [])]))
        retention.set(c, [...(retention.get(c) ?? []), part.name]);
    }
    const day = generatedAt.slice(0, 10);
    // Art. 15(1)(c) "have been or will be disclosed": providers in force, those that start later and those that ended.
    const recipients = s.register.map((p) => ({
      provider: p,
      entry: {
        name: p.name,
        purpose: p.purpose,
        dataCategories: [...p.dataCategories],
        location: p.location,
        ...(p.since > day ? { since: p.since } : {}),
        ...(p.until && p.until <= day ? { until: p.until } : {}),
      },
    }));
    const privacy = `${s.publicUrl}/privacy`;
    const form = `${s.publicUrl}/privacy/request`;
    const statement: Article15 = {
      controller: { name: s.controller, contact: s.privacyContact },
      purposes: items(PURPOSES, (h) => h.purposes),
      categories: items(CATEGORIES, (h) => h.categories),
      recipients: recipients.map((r) => r.entry),
      retention: [...retention].map(([name, of]) => {
        const c = classes.get(name);
        // A class no purge is registered for in this deployment: said so, not given a period it does not have.
        if (!c)
          return {
            class: name,
            policyClause:
              '§4: no purge of this class runs in this deployment; it is kept until it is deleted with the account',
            periodDays: null,
            parts: of,
          };
        const days = UNTIL_DELETION.has(name)
          ? null
          : ((plan !== undefined ? c.perPlanDays?.[plan] : undefined) ?? c.periodDays);
        return { class: name, policyClause: c.policyClause, periodDays: days, parts: of };
      }),
      sources: held.map((part) => {
        const h = handlers[part.name];
        return {
          part: part.name,
          source: h ? (h.source[ref.kind] ?? h.source.account) : 'Described in the part itself',
        };
      }),
      transfers: recipients
        .filter((r) => r.provider.transfer.mechanism !== 'none')
        .map((r) => ({
          recipient: r.provider.name,
          location: r.provider.location,
          safeguard: describeTransfer(r.provider.transfer),
        })),
      rights: [
        {
          right: 'Access',
          how: `Ask for a copy (this export) on the privacy centre, ${privacy}, with the form at ${form}, or by email to ${s.privacyContact}`,
        },
        {
          right: 'Correction',
          how: `Correct your details on the privacy centre, ${privacy}, or ask by email to ${s.privacyContact}`,
        },
        {
          right: 'Deletion',
          how: `Ask for deletion on the privacy centre, ${privacy}, with the form at ${form}, or by email to ${s.privacyContact}`,
        },
        {
          right: 'Portability',
          how: `Ask for a portable copy (JSON or zip) on the privacy centre, ${privacy}, or by email to ${s.privacyContact}`,
        },
        {
          right: 'Restriction',
          how: `Ask us to restrict processing on the privacy centre, ${privacy}, or by email to ${s.privacyContact}`,
        },
        {
          right: 'Objection',
          how: `Object to processing based on legitimate interests on the privacy centre, ${privacy}, with the form at ${form}, or by email to ${s.privacyContact}`,
        },
        {
          right: 'Withdraw consent',
          how: `Withdraw consent (analytics cookies, for example) on the privacy centre, ${privacy}; it does not affect what was done before`,
        },
        {
          right: 'Complaint',
          how: 'Complain to your data protection authority (in Kenya the Office of the Data Protection Commissioner)',
        },
      ],
      automatedDecisions:
        'None: no decision with legal or similarly significant effects is made about you by automated means alone (quotas and abuse limits refuse requests for a while, never decide about you).',
    };
    return statement;
  };
}
