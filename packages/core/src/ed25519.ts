/**
 * Ed25519 key lists given as `id:base64(32-byte seed)[,id:seed...]`, the first signs (the format of
 * DATA_RIGHTS_SIGNING_KEYS and AUDIT_SIGNING_KEYS): parsed in one place so that both read a list
 * alike, refuse the same mistakes and never quote key material in an error. node:crypto only.
 */
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';

// PKCS#8 DER of an Ed25519 private key is this prefix, then the 32-byte seed (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** What a key id may be: short, and safe in a JWK `kid`, a log line and an env file. */
export const ED25519_KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface Ed25519Key {
  id: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The 32-byte public key (RFC 8032 encoding). */
  publicBytes: Buffer;
}

/**
 * Parses a key list. `invalid(why)` makes the error to throw; `why` names the entry by position or
 * id (`entry 2 is not id:base64-seed`, `key "k1" is not 32 bytes of base64`), never its seed.
 */
export function parseEd25519Keys(text: string, invalid: (why: string) => Error): Ed25519Key[] {
  if (typeof text !== 'string' || !text.trim()) throw invalid('is empty');
  const seen = new Set<string>();
  return text.split(',').map((entry, i) => {
    const [id, seed, ...rest] = entry.trim().split(':');
    if (!id || !ED25519_KEY_ID.test(id) || rest.length) throw invalid(`entry ${i + 1} is not id:base64-seed`);
    if (seen.has(id)) throw invalid(`names key "${id}" twice`);
    seen.add(id);
    const raw = Buffer.from(seed ?? '', 'base64');
    if (raw.length !== 32) throw invalid(`key "${id}" is not 32 bytes of base64`);
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey);
    return { id, privateKey, publicKey, publicBytes: ed25519PublicBytes(publicKey) };
  });
}

/** The 32 bytes of an Ed25519 public key. */
export function ed25519PublicBytes(key: KeyObject): Buffer {
  return Buffer.from((key.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
}

/** An Ed25519 public key from its 32 bytes. */
export function ed25519PublicKey(bytes: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(bytes).toString('base64url') },
    format: 'jwk',
  });
}

/** A new `id:seed` entry for a key list. */
export function generateEd25519Key(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}
