/** Signed-note text rules shared by parsing, signing and keys: size caps, key names, key IDs, canonical base64. */
import { createHash } from 'node:crypto';

/**
 * The largest note opened or signed, bytes (a checkpoint is ~150 bytes; the cap bounds the work of a hostile input).
 */
export const MAX_NOTE_BYTES = 1 << 20;
/** The most signature lines a note may carry (golang.org/x/mod/sumdb/note's limit; the spec asks for at least 16). */
export const MAX_SIGNATURES = 100;
export const SIGNATURE_PREFIX = '\u2014 '; // em dash, space
export const ED25519 = 0x01; // the signature type byte of signed-note's Ed25519 keys
// Control characters (every one below U+0020 but newline, so CR too) and lone UTF-16 surrogates,
// which are not UTF-8 text: a note holding either is malformed.
export const NOT_NOTE_TEXT =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0009\u000b-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// signed-note: key names have no Unicode space and no plus. `\s` is Unicode's White_Space plus
// U+FEFF; U+0085 is White_Space too (Go's unicode.IsSpace), not in `\s`.
const NOT_IN_NAME = /[\s\u0085+]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Is `name` a signed-note key name: non-empty UTF-8 text without spaces, plus signs or control characters? */
export function isKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    Buffer.byteLength(name) <= 1024 &&
    !NOT_IN_NAME.test(name) &&
    !NOT_NOTE_TEXT.test(name)
  );
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ED25519]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

export const hex8 = (id: number) => id.toString(16).padStart(8, '0');
/** Standard base64 that decodes to what re-encodes to it: one spelling per value (no stray padding bits). */
export const canonicalBase64 = (text: string): Buffer | null => {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
};
