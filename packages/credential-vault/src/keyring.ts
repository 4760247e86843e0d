/**
 * Key-encryption keys (KEKs). A `KeyProvider` wraps and unwraps data keys by KEK id; the local
 * provider keeps KEKs in memory from VAULT_KEYS. A cloud KMS or Vault transit provider implements the
 * same three members (see the README).
 */
import { decrypt, encrypt, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from './aead.js';
import { invalidKeys, keyUnavailable } from './errors.js';

export interface KeyProvider {
  /** The KEK new records are wrapped with. */
  readonly activeKeyId: string;
  /** Wraps a data key under the active KEK; `context` binds the wrapped key to its record. */
  wrap(dataKey: Buffer, context: Uint8Array): Promise<{ keyId: string; wrapped: Buffer }>;
  /** Unwraps; throws HF_VAULT_KEY_UNAVAILABLE for an unknown KEK, HF_VAULT_DECRYPT_FAILED for bad bytes. */
  unwrap(keyId: string, wrapped: Uint8Array, context: Uint8Array): Promise<Buffer>;
  /** Is this KEK available? */
  has(keyId: string): boolean;
}

export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses VAULT_KEYS: `id:base64-of-32-bytes` entries, comma-separated, the first one active. */
export function parseVaultKeys(text: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (!entries.length) throw invalidKeys('is empty');
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    if (colon <= 0 || !KEY_ID.test(id))
      throw invalidKeys(`entry ${i + 1} must be id:base64 with an id of letters, digits, . _ -`);
    const b64 = entry.slice(colon + 1);
    const key = Buffer.from(b64, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || key.length !== KEY_BYTES)
      throw invalidKeys(`entry "${id}" must be the base64 of exactly 32 bytes`);
    if (keys.has(id)) throw invalidKeys(`has the id "${id}" twice`);
    keys.set(id, key);
  });
  return keys;
}

/** KEKs held in this process. Wrapped key = nonce ‖ tag ‖ AES-256-GCM(KEK, data key, AAD = context). */
export class LocalKeyProvider implements KeyProvider {
  readonly activeKeyId: string;
  readonly #keys: Map<string, Buffer>;

  constructor(keys: Map<string, Buffer> | string) {
    this.#keys = typeof keys === 'string' ? parseVaultKeys(keys) : new Map(keys);
    const first = this.#keys.keys().next();
    if (first.done) throw invalidKeys('is empty');
    this.activeKeyId = first.value;
  }

  has(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  async wrap(dataKey: Buffer, context: Uint8Array) {
    const { nonce, ciphertext, tag } = encrypt(this.#keys.get(this.activeKeyId)!, dataKey, context);
    return { keyId: this.activeKeyId, wrapped: Buffer.concat([nonce, tag, ciphertext]) };
  }

  async unwrap(keyId: string, wrapped: Uint8Array, context: Uint8Array) {
    const kek = this.#keys.get(keyId);
    if (!kek) throw keyUnavailable();
    return decrypt(
      kek,
      wrapped.subarray(0, NONCE_BYTES),
      wrapped.subarray(NONCE_BYTES + TAG_BYTES),
      wrapped.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES),
      context,
    );
  }
}
