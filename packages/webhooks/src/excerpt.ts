/**
 * What the delivery log keeps of an endpoint's answer (issue 34 item 1): at most 1 KiB of its body,
 * as text. Never a header. A receiver that echoes the request back (debugging endpoints, request
 * bins) would hand us our own signature, or its secret if it prints it: every signature and secret
 * of the request is removed before the cut, in the spellings an echo produces (as sent, JSON with
 * `\/`, percent-encoded), so the log never holds one.
 */

/** The most of a response body the log keeps, in UTF-8 bytes. */
export const RESPONSE_EXCERPT_BYTES = 1024;
/** How much of a body is read for it: more than is kept, so a value cut by the read is past the kept part. */
export const RESPONSE_READ_BYTES = 4096;
const REDACTED = '[redacted]';

/** The strings an echo of `values` may contain, longest first (a secret before its base64 part). */
function spellings(values: readonly string[]): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (v.length < 8) continue;
    out.add(v);
    out.add(v.replaceAll('/', '\\/'));
    out.add(encodeURIComponent(v));
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Text cut to at most `max` UTF-8 bytes, never inside a character. */
function cutUtf8(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/**
 * The excerpt of a response body: decoded as UTF-8 (bad bytes become U+FFFD), each of `secrets`
 * (signatures, secrets, their base64 parts) replaced by `[redacted]`, U+0000 replaced (Postgres text
 * cannot hold it), cut to 1 KiB. Null for an empty body.
 */
export function responseExcerpt(body: Uint8Array | null | undefined, secrets: readonly string[] = []): string | null {
  if (!body?.length) return null;
  let text = new TextDecoder('utf-8').decode(body.subarray(0, RESPONSE_READ_BYTES));
  for (const s of spellings(secrets)) text = text.replaceAll(s, REDACTED);
  return cutUtf8(text.replaceAll('\u0000', '\uFFFD'), RESPONSE_EXCERPT_BYTES);
}

/** What a signed request must not leave in the log: each secret, its base64 part, each signature's MAC. */
export function redactionsOf(secrets: readonly string[], signatureHeader: string | undefined): string[] {
  const macs = (signatureHeader ?? '').split(' ').map((s) => s.slice(s.indexOf(',') + 1));
  return [...secrets, ...secrets.map((s) => s.replace(/^whsec_/, '')), ...macs].filter((s) => s.length >= 8);
}
