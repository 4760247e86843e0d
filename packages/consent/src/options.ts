import { checkDatabaseOption, checkSubjectOption, type SubjectResolver } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyContextConfig } from 'fastify';
import { CATEGORY_PATTERN } from './codec.js';
import { invalidOption } from './errors.js';
import { checkPolicies, type PolicyVersion, type PolicyVersionInput } from './policy.js';

export type CookieEntry = string | { category: string; path?: string; domain?: string };

export interface ConsentOptions {
  /** HMAC secrets of the consent cookie, each ≥ 32 characters: the first signs, all verify. Required. */
  secrets: readonly string[];
  /** The ledger's database (drizzle `PgDatabase`, PGlite or postgres.js). Required. */
  db: Database;
  /** Policy versions `{ version, publishedAt, effectiveAt, material }`. Required. */
  policies: readonly PolicyVersionInput[];
  /** Every cookie the app sets: name → category (or `{ category, path, domain }`). */
  cookies?: Record<string, CookieEntry>;
  /** Non-essential categories besides `analytics`. */
  categories?: readonly string[];
  /** Analytics when nobody decided: `granted` (the policy's opt-out model) or `denied` (opt-in law). */
  defaultAnalytics?: 'granted' | 'denied';
  /** Cookies missing from the catalogue: removed, let through, or treated as essential. */
  unknownCookies?: 'block' | 'allow' | 'essential';
  /** Honour `Sec-GPC: 1`. */
  gpc?: boolean;
  /** Name of the consent cookie. Default `__Host-hf_consent` when `secure`, else `hf_consent`. */
  cookieName?: string;
  /**
   * Earlier names of the consent cookie, read as refusals only (never as grants). Default
   * `['hf_consent']` when the cookie name is `__Host-hf_consent`, else none.
   */
  legacyCookieNames?: readonly string[];
  /** Lifetime of a decision, in days. */
  maxAgeDays?: number;
  /** The consent cookie's Secure attribute. */
  secure?: boolean;
  /** Prefix of the HTTP API (GET/PUT/DELETE), or false for none. */
  routePrefix?: string | false;
  /** Route config merged into the package's routes (e.g. the app's `{ auth: 'public' }`). */
  routeConfig?: Partial<FastifyContextConfig>;
  /** Serve `/.well-known/gpc.json` with this `lastUpdate` (YYYY-MM-DD), or false. */
  gpcWellKnown?: { lastUpdate: string } | false;
  /** Who the subject is; default: the authenticated account. */
  subject?: SubjectResolver;
}

export const DEFAULTS = {
  defaultAnalytics: 'granted',
  unknownCookies: 'block',
  gpc: true,
  cookieName: 'hf_consent',
  /** With `secure`: the browser refuses it from a sibling subdomain or over http (RFC 6265bis §4.1.3.2). */
  secureCookieName: '__Host-hf_consent',
  maxAgeDays: 182,
  secure: true,
  routePrefix: '/consent',
} as const;

export interface CatalogueEntry {
  category: string;
  path: string;
  domain: string | undefined;
}

export interface ResolvedOptions {
  secrets: string[];
  db: Database;
  policies: PolicyVersion[];
  catalogue: Map<string, CatalogueEntry>;
  nonEssential: string[];
  defaults: string[];
  unknownCookies: 'block' | 'allow' | 'essential';
  gpc: boolean;
  cookieName: string;
  legacyCookieNames: string[];
  maxAgeSeconds: number;
  secure: boolean;
  routePrefix: string | false;
  routeConfig: Partial<FastifyContextConfig>;
  gpcWellKnown: { lastUpdate: string } | false;
  subject: SubjectResolver;
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

export function resolveOptions(options: ConsentOptions): ResolvedOptions {
  const o = options as Partial<ConsentOptions>;
  if (!Array.isArray(o.secrets) || o.secrets.length === 0)
    throw invalidOption('secrets', 'must be a non-empty array of strings');
  o.secrets.forEach((s, i) => {
    if (typeof s !== 'string' || s.length < 32)
      throw invalidOption(`secrets[${i}]`, 'must be a string of at least 32 characters');
  });
  const db = checkDatabaseOption(o.db, invalidOption);
  const policies = checkPolicies(o.policies);

  const extra = o.categories ?? [];
  if (!Array.isArray(extra)) throw invalidOption('categories', 'must be an array of category names');
  for (const c of extra) {
    if (typeof c !== 'string' || !CATEGORY_PATTERN.test(c) || c === 'essential' || c === 'analytics') {
      throw invalidOption('categories', `has an invalid or reserved name ${JSON.stringify(c)}`);
    }
  }
  const nonEssential = ['analytics', ...new Set(extra)];
  const known = new Set(['essential', ...nonEssential]);

  const bool = (name: string, value: unknown, fallback: boolean) => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw invalidOption(name, 'must be a boolean');
    return value;
  };
  const secure = bool('secure', o.secure, DEFAULTS.secure);
  const cookieName = o.cookieName ?? (secure ? DEFAULTS.secureCookieName : DEFAULTS.cookieName);
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName))
    throw invalidOption('cookieName', 'must be a valid cookie name');
  if (/^__(Host|Secure)-/i.test(cookieName) && !secure)
    throw invalidOption(
      'cookieName',
      'with a __Host- or __Secure- prefix needs secure: true (browsers refuse it otherwise)',
    );
  const legacyCookieNames =
    o.legacyCookieNames ?? (cookieName === DEFAULTS.secureCookieName ? [DEFAULTS.cookieName] : []);
  if (
    !Array.isArray(legacyCookieNames) ||
    legacyCookieNames.some((n) => typeof n !== 'string' || !COOKIE_NAME.test(n) || n === cookieName)
  ) {
    throw invalidOption('legacyCookieNames', 'must be a list of valid cookie names other than cookieName');
  }

  const catalogue = new Map<string, CatalogueEntry>();
  for (const [name, entry] of Object.entries(o.cookies ?? {})) {
    const e = typeof entry === 'string' ? { category: entry } : entry;
    if (!COOKIE_NAME.test(name)) throw invalidOption(`cookies.${name}`, 'is not a valid cookie name');
    if (!e || typeof e.category !== 'string' || !known.has(e.category)) {
      throw invalidOption(`cookies.${name}`, `must name a category (${[...known].join(', ')})`);
    }
    catalogue.set(name, { category: e.category, path: e.path ?? '/', domain: e.domain });
  }
  // The consent cookie is essential: it is what makes refusal possible.
  catalogue.set(cookieName, { category: 'essential', path: '/', domain: undefined });
  for (const name of legacyCookieNames) catalogue.set(name, { category: 'essential', path: '/', domain: undefined });

  const oneOf = <T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T => {
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) throw invalidOption(name, `must be one of ${allowed.join(', ')}`);
    return value as T;
  };
  const defaultAnalytics = oneOf(
    'defaultAnalytics',
    o.defaultAnalytics,
    ['granted', 'denied'],
    DEFAULTS.defaultAnalytics,
  );
  const unknownCookies = oneOf(
    'unknownCookies',
    o.unknownCookies,
    ['block', 'allow', 'essential'],
    DEFAULTS.unknownCookies,
  );

  const maxAgeDays = o.maxAgeDays ?? DEFAULTS.maxAgeDays;
  if (typeof maxAgeDays !== 'number' || !(maxAgeDays > 0) || maxAgeDays > 400) {
    throw invalidOption('maxAgeDays', 'must be a number of days from 1 to 400 (browsers cap cookies at 400)');
  }
  const prefix = o.routePrefix ?? DEFAULTS.routePrefix;
  if (prefix !== false && (typeof prefix !== 'string' || !prefix.startsWith('/')))
    throw invalidOption('routePrefix', 'must start with / or be false');
  const wellKnown = o.gpcWellKnown ?? false;
  if (wellKnown !== false && !/^\d{4}-\d{2}-\d{2}$/.test(wellKnown?.lastUpdate ?? '')) {
    throw invalidOption('gpcWellKnown.lastUpdate', 'must be a YYYY-MM-DD date');
  }

  return {
    secrets: [...o.secrets],
    db,
    policies,
    catalogue,
    nonEssential,
    defaults: defaultAnalytics === 'granted' ? ['analytics'] : [],
    unknownCookies,
    gpc: bool('gpc', o.gpc, DEFAULTS.gpc),
    cookieName,
    legacyCookieNames: [...legacyCookieNames],
    maxAgeSeconds: Math.round(maxAgeDays * 86_400),
    secure,
    routePrefix: prefix,
    routeConfig: o.routeConfig ?? {},
    gpcWellKnown: wellKnown,
    subject: checkSubjectOption(o.subject, invalidOption),
  };
}
