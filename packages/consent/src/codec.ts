/**
 * The `hf_consent` cookie: a compact, HMAC-signed record of one decision. Plain functions, no
 * Fastify: this is what a reviewer reads first.
 *
 *   value     = payload "." signature
 *   payload   = "1~" id "~" categories "~" version "~" decidedAt "~" expiresAt "~" source "~" gpc
 *   signature = base64url(HMAC-SHA256(secret, cookieName "=" payload))     (43 characters)
 *
 * The MAC covers the cookie's name (a value cannot be moved to another cookie) and its expiry (it
 * cannot outlive its time, whatever Max-Age the browser is told). Times are Unix seconds in base 36.
 * Anything malformed, forged, oversize or expired decodes to null: "no decision", never an error.
 */
import { cookieValues, openValue, prepareKeys, sealValue, type SigningKey } from '@harakaflow/core';

export type DecisionSource = 'user' | 'gpc' | 'continued-use';

export interface ConsentDecision {
  /** Random id tying the cookie to its ledger rows. */
  id: string;
  /** Non-essential categories granted (essential is implicit). */
  categories: string[];
  /** Policy version the decision was made under. */
  version: string;
  /** Unix seconds. */
  decidedAt: number;
  /** Unix seconds; the cookie is void from then on. */
  expiresAt: number;
  source: DecisionSource;
  /** The decision was made with a Global Privacy Control signal seen. */
  gpc: boolean;
}

export const MAX_COOKIE_VALUE = 400;
const SOURCES: Record<string, DecisionSource> = { u: 'user', g: 'gpc', c: 'continued-use' };
const SOURCE_LETTER: Record<DecisionSource, string> = { user: 'u', gpc: 'g', 'continued-use': 'c' };
export const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const VERSION_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
export const CATEGORY_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const NUMBER_PATTERN = /^[0-9a-z]{1,10}$/;

/** A secret as given, or prepared once with `prepareSecrets` (importing a string key per call is slow). */
export type Secret = SigningKey;
export const prepareSecrets = prepareKeys;

export function encodeDecision(decision: ConsentDecision, name: string, secret: Secret): string {
  const categories = decision.categories.length ? decision.categories.join('!') : '-';
  const payload = [
    '1',
    decision.id,
    categories,
    decision.version,
    decision.decidedAt.toString(36),
    decision.expiresAt.toString(36),
    SOURCE_LETTER[decision.source],
    decision.gpc ? '1' : '0',
  ].join('~');
  return sealValue(name, payload, secret);
}

export interface Decoded {
  decision: ConsentDecision;
  /** Verified with a secret other than the first: re-issue it signed with the first. */
  stale: boolean;
}

/** Verifies and parses a cookie value. Never throws; null means "no decision". */
export function decodeDecision(value: unknown, name: string, secrets: readonly Secret[], nowSeconds: number): Decoded | null {
  const opened = openValue(name, value, secrets, MAX_COOKIE_VALUE);
  if (!opened) return null;
  const { payload, stale } = opened;

  const fields = payload.split('~');
  if (fields.length !== 8 || fields[0] !== '1') return null;
  const [, id, categoriesText, version, decidedText, expiresText, sourceLetter, gpcText] = fields as [string, ...string[]];
  if (!ID_PATTERN.test(id!) || !VERSION_PATTERN.test(version!)) return null;
  if (!NUMBER_PATTERN.test(decidedText!) || !NUMBER_PATTERN.test(expiresText!)) return null;
  const source = SOURCES[sourceLetter!];
  if (!source || (gpcText !== '0' && gpcText !== '1')) return null;
  const categories = categoriesText === '-' ? [] : categoriesText!.split('!');
  if (!categories.every((c) => CATEGORY_PATTERN.test(c))) return null;
  const decidedAt = parseInt(decidedText!, 36);
  const expiresAt = parseInt(expiresText!, 36);
  if (expiresAt <= nowSeconds || decidedAt > nowSeconds + 300 || decidedAt > expiresAt) return null;

  return {
    decision: { id: id!, categories, version: version!, decidedAt, expiresAt, source, gpc: gpcText === '1' },
    stale,
  };
}

/** Names read besides the consent cookie's own, and how (see `decisionFromRequest`). */
export interface LegacyCookies {
  /** Earlier names of the consent cookie (`hf_consent` before the `__Host-` prefix). */
  names: readonly string[];
  /** Every non-essential category: a legacy decision that grants all of them refuses nothing. */
  nonEssential: readonly string[];
}

/** Is `name=` in a raw Cookie header as a cookie of its own (not the tail of `__Host-name=`)? */
export function hasCookie(header: string, name: string): boolean {
  const marker = `${name}=`;
  return header.startsWith(marker) || header.includes(`; ${marker}`) || header.includes(`;${marker}`);
}

/**
 * The most restrictive of several valid decisions (issue 12 item 4): a refusal beats a grant, so a
 * decision tossed in from a sibling subdomain can add restrictions but never lift one. The
 * categories granted are those every decision grants; the decision returned is the newest of those
 * granting exactly that, or else the newest with its categories cut down to it. A GPC mark stands
 * only if every decision carries it.
 */
function mostRestrictive(found: readonly Decoded[]): Decoded {
  if (found.length === 1) return found[0]!;
  const newestFirst = [...found].sort((a, b) => b.decision.decidedAt - a.decision.decidedAt);
  const granted = newestFirst[0]!.decision.categories.filter((c) => found.every((d) => d.decision.categories.includes(c)));
  const gpc = found.every((d) => d.decision.gpc);
  const exact = newestFirst.find((d) => d.decision.categories.length === granted.length);
  const chosen = exact ?? newestFirst[0]!;
  return { decision: { ...chosen.decision, categories: granted, gpc: chosen.decision.gpc && gpc }, stale: chosen.stale };
}

/**
 * The consent decision a request carries. With one cookie of the name, that one. With several
 * (a sibling subdomain can add its own: "cookie tossing"), every one is verified and the most
 * restrictive valid decision wins, so an injected grant never lifts a refusal. Cookies of a
 * `legacy` name are read as refusals only: one that grants every category is ignored, so nobody
 * who refused before a rename is opted back in, and a tossed legacy grant counts for nothing.
 */
export function decisionFromRequest(
  parsed: string | undefined,
  rawHeader: string | undefined,
  name: string,
  secrets: readonly Secret[],
  nowSeconds: number,
  cache?: VerifiedCookies,
  legacy?: LegacyCookies,
): Decoded | null {
  if (!rawHeader) return null;
  const decode = (value: string, cookie: string) => (cache ? cache.decode(value, cookie, secrets, nowSeconds) : decodeDecision(value, cookie, secrets, nowSeconds));
  const legacyPresent = legacy ? legacy.names.filter((n) => hasCookie(rawHeader, n)) : [];
  const marker = `${name}=`;
  if (!legacyPresent.length) {
    if (parsed === undefined) return null;
    if (rawHeader.indexOf(marker) === rawHeader.lastIndexOf(marker)) return decode(parsed, name);
  }
  const found: Decoded[] = [];
  for (const value of cookieValues(rawHeader, name)) {
    const decoded = decode(value, name);
    if (decoded) found.push(decoded);
  }
  for (const old of legacyPresent) {
    for (const value of cookieValues(rawHeader, old)) {
      const decoded = decode(value, old);
      if (decoded && !legacy!.nonEssential.every((c) => decoded.decision.categories.includes(c))) found.push({ decision: decoded.decision, stale: true });
    }
  }
  return found.length ? mostRestrictive(found) : null;
}

/**
 * Remembers cookie values that verified, so a browser that sends the same value on every request
 * costs one HMAC in its lifetime, not one per request (each HMAC allocates a native object whose
 * finalizer weighs on the garbage collector: about half of this plugin's cost before the cache).
 * Keyed by the exact value, signature included; only verified values enter; expiry is checked on
 * every hit. Bounded: the oldest entry goes when it is full.
 */
export class VerifiedCookies {
  readonly #entries = new Map<string, Decoded>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  decode(value: unknown, name: string, secrets: readonly Secret[], nowSeconds: number): Decoded | null {
    if (typeof value !== 'string') return null;
    // Keyed by name and value: the MAC covers the name, so a value verified under one name must
    // not be taken as verified under another.
    const key = `${name}=${value}`;
    const hit = this.#entries.get(key);
    if (hit) {
      if (hit.decision.expiresAt > nowSeconds) return hit;
      this.#entries.delete(key);
      return null;
    }
    const decoded = decodeDecision(value, name, secrets, nowSeconds);
    if (decoded) {
      if (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(key, decoded);
    }
    return decoded;
  }

  get size(): number {
    return this.#entries.size;
  }
}
