/**
 * Name-bound HMAC-SHA256 signing of short cookie values, with key rotation (after @fastify/cookie's
 * signer: a list of keys, the first signs, all verify, and the result says when to re-sign).
 *
 *   value = payload "." base64url(HMAC-SHA256(key, name "=" payload))
 *
 * The MAC covers the cookie name, so a value cannot be moved to another cookie. Verification never
 * throws: the signature must be exactly 43 base64url characters (no lenient decoding that would
 * accept junk appended), and MACs of equal length are compared in constant time. The signature
 * must also be the one canonical spelling of its 32 bytes (issue 30 item 12): 43 characters carry
 * 258 bits, so the last one holds 4 bits of the MAC and 2 unused bits that a decoder drops; a
 * reader that accepted any value of those 2 bits took four spellings of each signed value (a
 * value that should be unique, such as a one-time token or a cache key, was not).
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export type SigningKey = string | KeyObject;

/** Imports secrets once: importing a string key on every HMAC is slow. */
export function prepareKeys(secrets: readonly string[]): KeyObject[] {
  return secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
}

function mac(key: SigningKey, name: string, payload: string): Buffer {
  return createHmac('sha256', key).update(`${name}=${payload}`).digest();
}

export function sealValue(name: string, payload: string, key: SigningKey): string {
  return `${payload}.${mac(key, name, payload).toString('base64url')}`;
}

// The last character's 2 low bits are padding: canonical only when they are 0 (index % 4 === 0 in
// the base64url alphabet: A E I M Q U Y c g k o s w 0 4 8), which is what Buffer#toString writes.
const SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** The payload of a value signed by one of `keys` for cookie `name`, or null. `stale`: not signed by the first key. */
export function openValue(
  name: string,
  value: unknown,
  keys: readonly SigningKey[],
  maxLength = 400,
): { payload: string; stale: boolean } | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) return null;
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return null;
  const signatureText = value.slice(dot + 1);
  if (!SIGNATURE.test(signatureText)) return null;
  const signature = Buffer.from(signatureText, 'base64url');
  const payload = value.slice(0, dot);
  for (let i = 0; i < keys.length; i++) {
    if (timingSafeEqual(mac(keys[i]!, name, payload), signature)) return { payload, stale: i > 0 };
  }
  return null;
}
