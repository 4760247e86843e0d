// @ts-check
// Erasure receipts: downloaded as signed, and checked here (WebCrypto) with the published keys.
import { $, day, t } from './privacy-common.js';

export const KEYS_URL = '/.well-known/harakaflow-signing-keys.json';

/** The signed receipt as a file: its JSON exactly as the API gave it (the signature covers the values, not the spacing). */
export function downloadReceipt(/** @type {any} */ receipt, /** @type {string} */ id) {
  const url = URL.createObjectURL(new Blob([`${JSON.stringify(receipt, null, 2)}\n`], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = t('receiptFile', { id });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The text that was signed: @harakaflow/core's canonicalJson (keys sorted, no whitespace,
 * undefined members left out, non-finite numbers as null), which every receipt's signature covers.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const record = /** @type {Record<string, unknown>} */ (value);
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
    }
    default:
      return 'null';
  }
}

/** base64url to bytes; null when it is not base64url. @param {string} text */
export function base64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(
      text
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(text.length / 4) * 4, '='),
    );
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    // A length no base64 has (4k + 1): not a signature.
    return null;
  }
}

/**
 * An erasure receipt's shape (data-rights' Receipt): the same key signs export manifests, so a
 * signature alone does not make a document a receipt.
 * @param {Record<string, unknown>} signed
 */
export function isReceiptShape(signed) {
  const handlers = signed.handlers;
  return (
    typeof signed.requestId === 'string' &&
    typeof signed.subjectHash === 'string' &&
    typeof signed.completedAt === 'string' &&
    !Number.isNaN(Date.parse(signed.completedAt)) &&
    Array.isArray(handlers) &&
    handlers.every(
      (h) =>
        h &&
        typeof h === 'object' &&
        typeof h.name === 'string' &&
        Number.isInteger(h.erased) &&
        Number.isInteger(h.kept),
    )
  );
}

/**
 * Checks a receipt's Ed25519 signature with WebCrypto against the JWK set the app publishes (the
 * key whose `kid` is its `keyId`), over the canonical JSON of the receipt without `keyId` and
 * `signature`: what anyone can do with the published keys alone (README, "Checking a receipt").
 * @param {unknown} receipt
 * @returns {Promise<{ verdict: 'verified' | 'mismatch' | 'unknownKey' | 'notReceipt' | 'noKeys' | 'unsupported', keyId?: string }>}
 */
export async function checkReceipt(receipt) {
  if (!receipt || typeof receipt !== 'object' || Array.isArray(receipt)) return { verdict: 'notReceipt' };
  const { keyId, signature, ...signed } = /** @type {Record<string, unknown>} */ (receipt);
  if (typeof keyId !== 'string' || typeof signature !== 'string' || !isReceiptShape(signed))
    return { verdict: 'notReceipt' };
  /** @type {any[]} */
  let keys;
  try {
    const res = await fetch(KEYS_URL, { credentials: 'omit', cache: 'no-cache' });
    keys = res.ok ? (await res.json())?.keys : null;
    if (!Array.isArray(keys)) return { verdict: 'noKeys', keyId };
  } catch {
    return { verdict: 'noKeys', keyId };
  }
  const jwk = keys.find(
    (k) => k && k.kid === keyId && k.kty === 'OKP' && k.crv === 'Ed25519' && typeof k.x === 'string',
  );
  if (!jwk) return { verdict: 'unknownKey', keyId };
  const bytes = base64url(signature);
  if (!bytes || bytes.length !== 64) return { verdict: 'mismatch', keyId };
  /** @type {CryptoKey} */
  let key;
  try {
    // Not in a secure context (plain http but to this machine), or a browser without Ed25519: said so, not "not verified".
    key = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, [
      'verify',
    ]);
  } catch {
    return { verdict: 'unsupported', keyId };
  }
  const ok = await crypto.subtle.verify(
    { name: 'Ed25519' },
    key,
    bytes,
    new TextEncoder().encode(canonicalJson(signed)),
  );
  return { verdict: ok ? 'verified' : 'mismatch', keyId };
}

/**
 * The verdict as a sentence; a verified one also says what it covers (the request, the subject's
 * hash, each part's counts), so that the words around a pasted receipt cannot claim more.
 * @param {Awaited<ReturnType<typeof checkReceipt>>} result @param {any} receipt
 */
export function verdictText({ verdict, keyId = '' }, receipt) {
  const said = t(`verdict.${verdict}`, { keyId, date: verdict === 'verified' ? day(receipt.completedAt) : '' });
  if (verdict !== 'verified') return said;
  const parts = receipt.handlers
    .map((/** @type {any} */ h) => t('verdict.part', { name: h.name, erased: String(h.erased), kept: String(h.kept) }))
    .join('; ');
  return `${said} ${t('verdict.covers', { requestId: receipt.requestId, subjectHash: receipt.subjectHash, parts })}`;
}

/** @param {HTMLElement} where @param {unknown} receipt */
export async function showVerdict(where, receipt) {
  where.textContent = t('checking');
  let result;
  try {
    result = await checkReceipt(receipt);
  } catch {
    // Anything the check could not take is not verified: never a "Checking…" left on screen.
    result = /** @type {const} */ ({ verdict: 'mismatch' });
  }
  where.textContent = verdictText(result, receipt);
}

/**
 * A receipt from a file or pasted text: the JSON itself, the JSON inside a longer text (the line
 * of the email that carries it), or a request as the API shows it (its `receipt`).
 * @param {string} text
 * @returns {unknown}
 */
export function receiptFrom(text) {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  for (const candidate of [text, start >= 0 && end > start ? text.slice(start, end + 1) : null]) {
    if (candidate === null) continue;
    try {
      const value = JSON.parse(candidate);
      // A request as the API shows it (its own fields, no signature of its own) carries its receipt.
      const isRequest =
        value &&
        typeof value === 'object' &&
        !Array.isArray(value) &&
        !('signature' in value) &&
        typeof value.id === 'string' &&
        typeof value.status === 'string';
      return isRequest && value.receipt && typeof value.receipt === 'object' ? value.receipt : value;
    } catch {
      // not JSON: the next candidate
    }
  }
  return undefined;
}

export async function checkGiven(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const pasted = /** @type {HTMLTextAreaElement} */ ($('receipt-text')).value;
  const file = /** @type {HTMLInputElement} */ ($('receipt-file')).files?.[0];
  // Pasted text when there is some, else the file chosen.
  const text = pasted.trim() ? pasted : file ? await file.text() : '';
  if (!text.trim()) {
    $('check-result').textContent = t('checkNothing');
    return;
  }
  await showVerdict($('check-result'), receiptFrom(text));
}
