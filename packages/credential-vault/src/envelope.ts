/**
 * Envelope encryption: every record has its own random data key, wrapped by a KEK; the payload is
 * AES-256-GCM under the data key. Plain functions, no Fastify.
 *
 * Binary format, version 1 (every length is checked against the buffer before it is used):
 *
 *   "HV" | 0x01 | L (1 byte, 1..64) | KEK id (L bytes) | W (uint16 BE, 1..1024) | wrapped key (W bytes)
 *        | nonce (12) | tag (16) | ciphertext (the rest, at most MAX_PLAINTEXT)
 *
 * Associated data binds a ciphertext to its place: format version, account, session and record name
 * (each length-prefixed, so no two places encode alike). The wrapped key is bound to the same place.
 * The KEK id is not in it, so rotation re-wraps data keys without touching payloads.
 */
import { decrypt, encrypt, KEY_BYTES, NONCE_BYTES, randomBytesPooled, TAG_BYTES } from './aead.js';
import { decryptFailed } from './errors.js';
import { KEY_ID, type KeyProvider } from './keyring.js';

export interface RecordPlace {
  /** Whose store the record belongs to: `whatsapp` (the default, the customer routes'), or a package's own. */
  namespace?: string | undefined;
  accountId: string;
  sessionId: string;
  name: string;
}

/** The namespace of WhatsApp session credentials: the only one the customer-facing routes reach. */
export const DEFAULT_NAMESPACE = 'whatsapp';
export const NAMESPACE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export const FORMAT_VERSION = 1;
export const MAX_PLAINTEXT = 4 * 1024 * 1024;
const MAGIC = [0x48, 0x56]; // "HV"
const MAX_WRAPPED = 1024;

/**
 * The associated data of a record's place: every component length-prefixed, so no two places
 * share it. The namespace enters it (issue 12 item 11): a record sealed in one namespace does not
 * open in another. The default namespace adds nothing, so records sealed before namespaces existed
 * (all of them WhatsApp credentials) still open, and replicas of the earlier version still read
 * and write them during a rolling upgrade.
 */
export function placeBytes(place: RecordPlace): Buffer {
  const namespace = place.namespace ?? DEFAULT_NAMESPACE;
  const fields = ['hf-vault', String(FORMAT_VERSION), place.accountId, place.sessionId, place.name];
  if (namespace !== DEFAULT_NAMESPACE) fields.push('namespace', namespace);
  const parts = fields.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 2 + p.length, 0));
  let at = 0;
  for (const part of parts) {
    if (part.length > 0xffff) throw new RangeError('record place component too long');
    at = out.writeUInt16BE(part.length, at);
    at += part.copy(out, at);
  }
  return out;
}

export interface Envelope {
  keyId: string;
  wrapped: Buffer;
  nonce: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function serialize(e: Envelope): Buffer {
  const id = Buffer.from(e.keyId, 'ascii');
  const head = Buffer.alloc(4 + id.length + 2);
  head[0] = MAGIC[0]!;
  head[1] = MAGIC[1]!;
  head[2] = FORMAT_VERSION;
  head[3] = id.length;
  id.copy(head, 4);
  head.writeUInt16BE(e.wrapped.length, 4 + id.length);
  return Buffer.concat([head, e.wrapped, e.nonce, e.tag, e.ciphertext]);
}

/** Parses a record, checking every length; anything malformed is HF_VAULT_DECRYPT_FAILED. */
export function parse(blob: Uint8Array): Envelope {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < 4 || b[0] !== MAGIC[0] || b[1] !== MAGIC[1] || b[2] !== FORMAT_VERSION) throw decryptFailed();
  const idLength = b[3]!;
  if (idLength < 1 || idLength > 64 || b.length < 4 + idLength + 2) throw decryptFailed();
  // latin1 maps each byte to one character; 'ascii' would drop the high bit, so a flipped bit 7
  // would read as the same id and a modified record would still open.
  const keyId = b.toString('latin1', 4, 4 + idLength);
  if (!KEY_ID.test(keyId)) throw decryptFailed();
  let at = 4 + idLength;
  const wrappedLength = b.readUInt16BE(at);
  at += 2;
  if (wrappedLength < 1 || wrappedLength > MAX_WRAPPED || b.length < at + wrappedLength + NONCE_BYTES + TAG_BYTES)
    throw decryptFailed();
  const wrapped = b.subarray(at, (at += wrappedLength));
  const nonce = b.subarray(at, (at += NONCE_BYTES));
  const tag = b.subarray(at, (at += TAG_BYTES));
  const ciphertext = b.subarray(at);
  if (ciphertext.length > MAX_PLAINTEXT) throw decryptFailed();
  return { keyId, wrapped, nonce, tag, ciphertext };
}

/** The KEK id a record is wrapped under (for status and rotation), without decrypting. */
export function keyIdOf(blob: Uint8Array): string {
  return parse(blob).keyId;
}

export async function seal(plaintext: Uint8Array, place: RecordPlace, keys: KeyProvider): Promise<Buffer> {
  if (plaintext.length > MAX_PLAINTEXT) throw new RangeError(`a record holds at most ${MAX_PLAINTEXT} bytes`);
  const aad = placeBytes(place);
  const dataKey = randomBytesPooled(KEY_BYTES);
  try {
    const { keyId, wrapped } = await keys.wrap(dataKey, aad);
    const { nonce, ciphertext, tag } = encrypt(dataKey, plaintext, aad);
    return serialize({ keyId, wrapped, nonce, tag, ciphertext });
  } finally {
    dataKey.fill(0);
  }
}

export async function open(blob: Uint8Array, place: RecordPlace, keys: KeyProvider): Promise<Buffer> {
  const e = parse(blob);
  const aad = placeBytes(place);
  const dataKey = await keys.unwrap(e.keyId, e.wrapped, aad);
  try {
    return decrypt(dataKey, e.nonce, e.ciphertext, e.tag, aad);
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Re-wraps the record's data key under the active KEK, leaving nonce, tag and ciphertext as they are
 * (the payload is never decrypted). A record already under the active KEK comes back unchanged.
 */
export async function rewrap(blob: Uint8Array, place: RecordPlace, keys: KeyProvider): Promise<Buffer> {
  const e = parse(blob);
  if (e.keyId === keys.activeKeyId) return Buffer.from(blob);
  const aad = placeBytes(place);
  const dataKey = await keys.unwrap(e.keyId, e.wrapped, aad);
  try {
    const { keyId, wrapped } = await keys.wrap(dataKey, aad);
    return serialize({ ...e, keyId, wrapped });
  } finally {
    dataKey.fill(0);
  }
}
