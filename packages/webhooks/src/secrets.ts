/**
 * Webhook secrets: `whsec_` followed by the base64 of the key bytes (Standard Webhooks). Secrets
 * are imported into KeyObjects once and remembered, so a verification does not parse base64 or
 * import a key.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { webhookError } from './errors.js';

export const SECRET_PREFIX = 'whsec_';
/** Shortest key accepted, in bytes (the specification recommends 24 to 64; we make 32). */
export const MIN_SECRET_BYTES = 16;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A secret ready to sign and verify with. */
export interface PreparedSecret {
  readonly key: KeyObject;
}

const prepared = new Map<string, PreparedSecret>();

/** A new secret, `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * Parses a secret: `whsec_<base64>` or bare base64 (as the reference libraries accept). Throws
 * HF_WEBHOOK_BAD_SECRET, never quoting the secret, when it is empty, not canonical base64, or
 * shorter than 16 bytes.
 */
export function prepareSecret(secret: string | PreparedSecret): PreparedSecret {
  if (typeof secret === 'object' && secret !== null && 'key' in secret) return secret;
  if (typeof secret !== 'string') throw webhookError('HF_WEBHOOK_BAD_SECRET', 'not a string');
  const known = prepared.get(secret);
  if (known) return known;
  const body = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!body || !BASE64.test(body)) throw webhookError('HF_WEBHOOK_BAD_SECRET', 'not base64');
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length < MIN_SECRET_BYTES)
    throw webhookError('HF_WEBHOOK_BAD_SECRET', `shorter than ${MIN_SECRET_BYTES} bytes`);
  const result = Object.freeze({ key: createSecretKey(bytes) });
  if (prepared.size > 1000) prepared.clear(); // bounded: secrets are few, but never let this grow
  prepared.set(secret, result);
  return result;
}

/** One or several secrets (rotation), each prepared; at least one. */
export function prepareSecrets(
  secrets: string | PreparedSecret | readonly (string | PreparedSecret)[],
): PreparedSecret[] {
  const list = Array.isArray(secrets) ? secrets : [secrets];
  if (!list.length) throw webhookError('HF_WEBHOOK_BAD_SECRET', 'no secret given');
  return list.map((s) => prepareSecret(s as string | PreparedSecret));
}
