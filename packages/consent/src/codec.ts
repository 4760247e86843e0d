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
export function decodeDecision(
  value: unknown,
  name: string,
  secrets: readonly Secret[],
  nowSeconds: number,
): Decoded | null {
  const opened = openValue(name, value, secrets, MAX_COOKIE_VALUE);
  if (!opened) return null;
  const { payload, stale } = opened;

  const fields = payload.split('~');
  if (fields.length !== 8 || fields[0] !== '1') return null;
  const [, id, categoriesText, version, decidedText, expiresText, sourceLetter, gpcText] = fields as [
    string,
    ...string[],
  ];
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

/**
 * A cookie name's `name=` marker, built once, and the two questions the hot path asks of a raw
 * Cookie header with it, each in one left-to-right scan without allocating (issue 29 item 4).
 */
export class CookieMarker {
  readonly name: string;
  readonly marker: string;

  constructor(name: string) {
    this.name = name;
    this.marker = `${name}=`;
  }

  /** Is `name=` there as a cookie of its own: at the start, after ";" or after "; " (not the tail of `__Host-name=`)? */
  present(header: string): boolean {
    const { marker } = this;
    for (let i = header.indexOf(marker); i >= 0; i = header.indexOf(marker, i + 1)) {
      if (i === 0) return true;
      const before = header.charCodeAt(i - 1);
      if (before === SEMICOLON || (before === SPACE && i >= 2 && header.charCodeAt(i - 2) === SEMICOLON)) return true;
    }
    return false;
  }

  /** Does `name=` occur at most once anywhere in the header (inside other values too)? Then the parsed value is the only candidate. */
  atMostOnce(header: string): boolean {
    const first = header.indexOf(this.marker);
    return first < 0 || header.indexOf(this.marker, first + 1) < 0;
  }
}
const SEMICOLON = 0x3b;
const SPACE = 0x20;

/** Is `name=` in a raw Cookie header as a cookie of its own (not the tail of `__Host-name=`)? */
export function hasCookie(header: string, name: string): boolean {
  return new CookieMarker(name).present(header);
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
  const granted = newestFirst[0]!.decision.categories.filter((c) =>
    found.every((d) => d.decision.categories.includes(c)),
  );
  const gpc = found.every((d) => d.decision.gpc);
  const exact = newestFirst.find((d) => d.decision.categories.length === granted.length);
  const chosen = exact ?? newestFirst[0]!;
  return {
    decision: { ...chosen.decision, categories: granted, gpc: chosen.decision.gpc && gpc },
    stale: chosen.stale,
  };
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
  return decisionReader(name, secrets, cache, legacy)(parsed, rawHeader, nowSeconds);
}

/**
 * `decisionFromRequest` for one cookie name, secrets, cache and legacy names. `cookies`, when
 * given, is the whole header as @fastify/cookie parsed it (`request.cookies`): a legacy name is
 * then looked up there instead of searched for in the raw header.
 */
export type DecisionReader = (
  parsed: string | undefined,
  rawHeader: string | undefined,
  nowSeconds: number,
  cookies?: Readonly<Record<string, string | undefined>> | null,
) => Decoded | null;

/**
 * `decisionFromRequest` with everything that depends only on its settings done once: the markers
 * of the name and of each legacy name. The plugin builds one at registration; a request with one
 * consent cookie and no legacy one then costs a property lookup per legacy name, one scan of the
 * header for a duplicate and a cache lookup, without allocating (issue 29 item 4).
 *
 * The parsed cookies find every legacy cookie the raw search finds (the parser splits at every
 * ";" and trims names, so it also finds `a=1;  hf_consent=...` with two spaces, which the raw
 * search misses: such a cookie then counts, as a refusal only). Duplicates of the current name
 * are still searched for in the raw header: the parser keeps only the first.
 */
export function decisionReader(
  name: string,
  secrets: readonly Secret[],
  cache?: VerifiedCookies,
  legacy?: LegacyCookies,
): DecisionReader {
  const current = new CookieMarker(name);
  const legacyMarkers = legacy ? legacy.names.map((n) => new CookieMarker(n)) : [];
  return (parsed, rawHeader, nowSeconds, cookies) => {
    if (!rawHeader) return null;
    let legacyPresent: CookieMarker[] | undefined;
    for (const marker of legacyMarkers) {
      if (cookies ? marker.name in cookies : marker.present(rawHeader)) (legacyPresent ??= []).push(marker);
    }
    if (!legacyPresent) {
      if (parsed === undefined) return null;
      if (current.atMostOnce(rawHeader))
        return cache
          ? cache.decode(parsed, name, secrets, nowSeconds)
          : decodeDecision(parsed, name, secrets, nowSeconds);
    }
    const decode = (value: string, cookie: string) =>
      cache ? cache.decode(value, cookie, secrets, nowSeconds) : decodeDecision(value, cookie, secrets, nowSeconds);
    const found: Decoded[] = [];
    for (const value of cookieValues(rawHeader, name)) {
      const decoded = decode(value, name);
      if (decoded) found.push(decoded);
    }
    for (const old of legacyPresent ?? []) {
      for (const value of cookieValues(rawHeader, old.name)) {
        const decoded = decode(value, old.name);
        if (decoded && !legacy!.nonEssential.every((c) => decoded.decision.categories.includes(c)))
          found.push({ decision: decoded.decision, stale: true });
      }
    }
    return found.length ? mostRestrictive(found) : null;
  };
}

/**
 * Remembers cookie values that verified, so a browser that sends the same value on every request
 * costs one HMAC in its lifetime, not one per request (each HMAC allocates a native object whose
 * finalizer weighs on the garbage collector: about half of this plugin's cost before the cache).
 * Only verified values enter; expiry is checked on every hit. Bounded across names: the oldest
 * entry of the name being added goes when it is full (of another name when that one has none).
 *
 * A hit is the exact value, signature included, under the exact name: one map per cookie name (the
 * MAC covers the name, so a value verified under one name is never taken as verified under
 * another), in which a value's slot is a number made of its last four characters (for a genuine
 * value, 24 bits of its HMAC) and the entry there must equal the value in full. Hashing the whole
 * value for a string key cost more than everything else the hot path does (issue 29 item 4); two
 * values in one slot only cost a verification, and only a verified value ever takes a slot.
 */
export class VerifiedCookies {
  readonly #byName = new Map<string, Map<number, { value: string; decoded: Decoded }>>();
  readonly #capacity: number;
  #size = 0;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  decode(value: unknown, name: string, secrets: readonly Secret[], nowSeconds: number): Decoded | null {
    if (typeof value !== 'string') return null;
    let entries = this.#byName.get(name);
    const slot = slotOf(value);
    const entry = entries?.get(slot);
    if (entry && entry.value === value) {
      if (entry.decoded.decision.expiresAt > nowSeconds) return entry.decoded;
      entries!.delete(slot);
      this.#size--;
      return null;
    }
    const decoded = decodeDecision(value, name, secrets, nowSeconds);
    if (decoded && this.#capacity > 0) {
      if (!entries) this.#byName.set(name, (entries = new Map()));
      // Another verified value in the slot gives way (verified again when it comes back).
      if (!entry) {
        if (this.#size >= this.#capacity) this.#evict(entries);
        this.#size++;
      }
      entries.set(slot, { value, decoded });
    }
    return decoded;
  }

  #evict(preferred: Map<number, unknown>): void {
    for (const entries of preferred.size ? [preferred] : this.#byName.values()) {
      const oldest = entries.keys().next();
      if (!oldest.done) {
        entries.delete(oldest.value);
        this.#size--;
        return;
      }
    }
  }

  get size(): number {
    return this.#size;
  }
}

/** The slot of a value: its last four characters, 7 bits each, as one small integer. */
function slotOf(value: string): number {
  const n = value.length;
  if (n < 4) return -1 - n;
  return (
    (((value.charCodeAt(n - 1) & 0x7f) * 128 + (value.charCodeAt(n - 2) & 0x7f)) * 128 +
      (value.charCodeAt(n - 3) & 0x7f)) *
      128 +
    (value.charCodeAt(n - 4) & 0x7f)
  );
}
