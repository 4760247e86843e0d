/**
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, as Meta (WhatsApp Cloud API) and
 * GitHub send it. The signature covers the body only: no id and no timestamp, so a captured
 * delivery verifies forever. Receivers must refuse replays themselves (the inbound plugin keeps the
 * digests of bodies it has processed).
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { WebhookErrorCode } from './errors.js';

const HEADER = /^sha256=([0-9a-fA-F]{64})$/;
const keys = new Map<string, KeyObject>();

function keyOf(secret: string | Uint8Array): KeyObject {
  if (typeof secret !== 'string') return createSecretKey(secret);
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 1000) keys.clear();
    keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  }
  return key;
}

export type HubVerifyResult = { ok: true } | { ok: false; code: WebhookErrorCode };

/**
 * Verifies `X-Hub-Signature-256` against one or several app secrets (rotation). The secret is the
 * app secret as text (Meta, GitHub) or bytes. Never throws on malformed input; only full 256-bit
 * signatures are accepted (a truncated MAC is refused).
 */
export function verifyHubSignature(
  payload: string | Uint8Array,
  signatureHeader: string | string[] | undefined,
  secrets: string | Uint8Array | readonly (string | Uint8Array)[],
): HubVerifyResult {
  const list = (Array.isArray(secrets) ? secrets : [secrets]) as (string | Uint8Array)[];
  if (
    !list.length ||
    list.some((s) => (typeof s === 'string' ? s.length === 0 : !(s instanceof Uint8Array) || s.length === 0))
  ) {
    return { ok: false, code: 'HF_WEBHOOK_BAD_SECRET' };
  }
  if (typeof signatureHeader !== 'string') return { ok: false, code: 'HF_WEBHOOK_MISSING_HEADER' };
  const match = HEADER.exec(signatureHeader);
  if (!match)
    return {
      ok: false,
      code: signatureHeader.startsWith('sha256=') ? 'HF_WEBHOOK_BAD_SIGNATURE' : 'HF_WEBHOOK_MISSING_HEADER',
    };
  const given = Buffer.from(match[1]!, 'hex');
  let matched = false;
  for (const secret of list)
    matched = timingSafeEqual(createHmac('sha256', keyOf(secret)).update(payload).digest(), given) || matched;
  return matched ? { ok: true } : { ok: false, code: 'HF_WEBHOOK_BAD_SIGNATURE' };
}

/** The header value for a body (tests, and senders of this scheme). */
export function hubSignature(payload: string | Uint8Array, secret: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', keyOf(secret)).update(payload).digest('hex')}`;
}
