/**
 * Reading a request's consent decision from its raw Cookie header: the cookie's own name and its
 * legacy names, the most restrictive of several values, scanned without allocating on the hot path.
 */
import { cookieValues } from '@harakaflow/core';
import { decodeDecision, type Decoded, type Secret } from './codec.js';
import type { VerifiedCookies } from './verified-cookies.js';

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

  /**
   * Is `name=` there as a cookie of its own: at the start, after ";" or after "; " (not the tail of `__Host-name=`)?
   */
  present(header: string): boolean {
    const { marker } = this;
    for (let i = header.indexOf(marker); i >= 0; i = header.indexOf(marker, i + 1)) {
      if (i === 0) return true;
      const before = header.charCodeAt(i - 1);
      if (before === SEMICOLON || (before === SPACE && i >= 2 && header.charCodeAt(i - 2) === SEMICOLON)) return true;
    }
    return false;
  }

  /**
   * Does `name=` occur at most once anywhere in the header (inside other values too)? Then the parsed value is the only
   * candidate.
   */
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
