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
import { openValue, prepareKeys, sealValue, type SigningKey } from '@harakaflow/core';

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
