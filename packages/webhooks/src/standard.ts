/**
 * Standard Webhooks (https://www.standardwebhooks.com), as plain functions:
 *
 *   webhook-id:        the message id (unique per message; the same on every retry)
 *   webhook-timestamp: Unix seconds
 *   webhook-signature: space-separated "v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)>"
 *
 * Verification parses strictly (digits-only timestamp, no "." in id or timestamp, signatures of
 * exactly 32 bytes), ignores unknown version prefixes, accepts any valid v1 signature under any of
 * the given secrets (rotation), checks the timestamp in both directions, and compares in constant
 * time. It never throws on malformed input: it returns a result with a code.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { webhookError, type WebhookErrorCode } from './errors.js';
import { prepareSecrets, type PreparedSecret } from './secrets.js';

export const DEFAULT_TOLERANCE_SECONDS = 300;
const TIMESTAMP = /^[0-9]{1,15}$/;
// 32 bytes in canonical base64: 43 characters and one "=", the last character carrying 4 bits of
// the MAC and two zero bits. Decoders ignore those two bits, so without this check four spellings
// of one MAC would verify (issue 12 item 13).
const SIGNATURE_B64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
/** What Node and fetch put between the values of a header sent more than once. */
const JOINED = ', ';
/** Longest id, timestamp or signature header taken (a header beyond is malformed, not parsed). */
const MAX_HEADER = 4096;

export type Secrets = string | PreparedSecret | readonly (string | PreparedSecret)[];

export interface SignInput {
  id: string;
  /** Unix seconds, or a Date. */
  timestamp: number | Date;
  payload: string | Uint8Array;
  /** One secret, or several: one signature each (the overlap after a rotation). */
  secrets: Secrets;
}

// A type alias, not an interface: it must fit the Record<string, ...> verifyWebhook takes.
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

function mac(key: KeyObject, id: string, timestamp: string, payload: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(payload).digest();
}

function checkId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= 256 && !id.includes('.') && !/[\s,]/.test(id);
}

/** The three headers of a delivery. Throws HF_WEBHOOK_BAD_SECRET for a bad secret, a TypeError for a bad id or time. */
export function signWebhook(input: SignInput): WebhookHeaders {
  if (!checkId(input.id)) throw new TypeError('webhook id must be 1 to 256 characters without ".", "," or spaces');
  const seconds = input.timestamp instanceof Date ? Math.floor(input.timestamp.getTime() / 1000) : input.timestamp;
  if (!Number.isSafeInteger(seconds) || seconds < 0)
    throw new TypeError('webhook timestamp must be whole Unix seconds');
  const timestamp = String(seconds);
  const signatures = prepareSecrets(input.secrets).map(
    (s) => `v1,${mac(s.key, input.id, timestamp, input.payload).toString('base64')}`,
  );
  return { 'webhook-id': input.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}

export type VerifyResult =
  { ok: true; id: string; timestamp: number } | { ok: false; code: WebhookErrorCode; message: string };

export interface VerifyOptions {
  /** Seconds a timestamp may be away from now, either way. Default 300. */
  toleranceSeconds?: number;
  /** Now, in ms (tests). */
  now?: number;
}

/** Node's lower-cased header object, or a fetch Headers. */
export type HeaderBag = Record<string, string | string[] | undefined> | Headers;

function header(headers: HeaderBag, name: string): string | undefined {
  const value =
    typeof (headers as Headers).get === 'function'
      ? ((headers as Headers).get(name) ?? undefined)
      : (headers as Record<string, string | string[] | undefined>)[name];
  // A repeated header is ambiguous: refuse rather than pick one.
  return typeof value === 'string' && value.length <= MAX_HEADER ? value : undefined;
}

const fail = (code: WebhookErrorCode, detail?: string): VerifyResult => ({
  ok: false,
  code,
  message: webhookError(code, detail).message,
});

/**
 * Verifies a delivery: the raw body exactly as received, its headers (Node's lower-cased object or
 * a fetch `Headers`), and the endpoint's secret(s). Never throws on malformed input.
 */
export function verifyWebhook(
  payload: string | Uint8Array,
  headers: HeaderBag,
  secrets: Secrets,
  options: VerifyOptions = {},
): VerifyResult {
  let keys: PreparedSecret[];
  try {
    keys = prepareSecrets(secrets);
  } catch (error) {
    return fail('HF_WEBHOOK_BAD_SECRET', (error as Error).message.replace(/^[^:]*: ?/, ''));
  }
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signature = header(headers, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signature === undefined) return fail('HF_WEBHOOK_MISSING_HEADER');
  // A repeated header reaches us joined: ambiguous, so refused rather than parsed (no valid value
  // of any of the three holds ", "). Servers that see the raw header list count them as well.
  if (id.includes(JOINED) || timestamp.includes(JOINED) || signature.includes(JOINED))
    return fail('HF_WEBHOOK_DUPLICATE_HEADER');
  if (!checkId(id)) return fail('HF_WEBHOOK_MISSING_HEADER', 'webhook-id is malformed');
  if (!TIMESTAMP.test(timestamp)) return fail('HF_WEBHOOK_MISSING_HEADER', 'webhook-timestamp is not Unix seconds');
  const seconds = Number(timestamp);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (seconds < now - tolerance) return fail('HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE', 'too old');
  if (seconds > now + tolerance) return fail('HF_WEBHOOK_TIMESTAMP_OUT_OF_RANGE', 'too new');

  const candidates: Buffer[] = [];
  for (const part of signature.split(' ')) {
    const comma = part.indexOf(',');
    if (comma === -1 || part.slice(0, comma) !== 'v1') continue; // unknown versions are ignored
    const value = part.slice(comma + 1);
    if (SIGNATURE_B64.test(value)) candidates.push(Buffer.from(value, 'base64'));
  }
  if (!candidates.length) return fail('HF_WEBHOOK_BAD_SIGNATURE');
  for (const { key } of keys) {
    const expected = mac(key, id, timestamp, payload);
    // Every candidate is compared (no early exit on which one matched): constant time per candidate.
    let matched = false;
    for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
    if (matched) return { ok: true, id, timestamp: seconds };
  }
  return fail('HF_WEBHOOK_BAD_SIGNATURE');
}

/** verifyWebhook that throws the WebhookError instead of returning it. */
export function assertWebhook(
  payload: string | Uint8Array,
  headers: HeaderBag,
  secrets: Secrets,
  options?: VerifyOptions,
): { id: string; timestamp: number } {
  const result = verifyWebhook(payload, headers, secrets, options);
  if (!result.ok) throw webhookError(result.code);
  return { id: result.id, timestamp: result.timestamp };
}
