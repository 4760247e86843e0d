/**
 * AES-256-GCM with exactly the sizes the vault supports: 256-bit key, 96-bit nonce, 128-bit tag.
 * Anything else is refused before any work. `authTagLength` is always given: without it Node accepts
 * a truncated tag on decryption.
 */
import { randomCopy } from '@harakaflow/core/internals';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { decryptFailed } from './errors.js';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

// Nonces and data keys come from core's CSPRNG pool (4 KiB blocks: one call to the random source
// per ~100 records instead of one or two per record). Bytes are copied out and the pool slice is
// zeroed, so no key material stays in the pool once handed out.
export const randomBytesPooled = randomCopy;

export const freshNonce = (): Buffer => randomBytesPooled(NONCE_BYTES);

export function encrypt(
  key: Buffer,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { nonce: Buffer; ciphertext: Buffer; tag: Buffer } {
  if (key.length !== KEY_BYTES) throw new RangeError('AES-256-GCM needs a 32-byte key');
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypts and authenticates, or throws HF_VAULT_DECRYPT_FAILED. Never returns unauthenticated bytes. */
export function decrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Buffer {
  if (key.length !== KEY_BYTES || nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw decryptFailed();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw decryptFailed();
  }
}
