/**
 * Ed25519 signatures over manifests and receipts (issue 14 items 3 and 4), so a person can later
 * prove what they were given, or that their data was erased, with the public key alone.
 * DATA_RIGHTS_SIGNING_KEYS is `id:base64(32-byte seed)[,id:seed...]`: the first signs; every one's
 * public key is published (`publicKeys()`, served as a JWK set), so a retired key still verifies.
 */
import { canonicalJson } from '@harakaflow/core';
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { invalidSigningKeys } from './errors.js';

// PKCS#8 DER of an Ed25519 private key is this prefix, then the 32-byte seed (RFC 8410).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  use: 'sig';
  alg: 'EdDSA';
}

export interface Signature {
  keyId: string;
  /** base64url of the 64-byte Ed25519 signature over the value's canonical JSON. */
  signature: string;
}

export class SigningKeys {
  readonly #keys: { id: string; privateKey: KeyObject; publicKey: KeyObject }[];

  constructor(text: string) {
    if (typeof text !== 'string' || !text.trim()) throw invalidSigningKeys('is empty');
    const seen = new Set<string>();
    this.#keys = text.split(',').map((entry, i) => {
      const [id, seed, ...rest] = entry.trim().split(':');
      if (!id || !KEY_ID.test(id) || rest.length) throw invalidSigningKeys(`entry ${i + 1} is not id:base64-seed`);
      if (seen.has(id)) throw invalidSigningKeys(`names key "${id}" twice`);
      seen.add(id);
      const raw = Buffer.from(seed ?? '', 'base64');
      if (raw.length !== 32) throw invalidSigningKeys(`key "${id}" is not 32 bytes of base64`);
      const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
      return { id, privateKey, publicKey: createPublicKey(privateKey) };
    });
  }

  /** Signs the canonical JSON of `value` with the first key. */
  sign(value: unknown): Signature {
    const key = this.#keys[0]!;
    return { keyId: key.id, signature: sign(null, Buffer.from(canonicalJson(value)), key.privateKey).toString('base64url') };
  }

  /** Every key's public half, as a JWK set (RFC 8037). */
  publicKeys(): { keys: PublicJwk[] } {
    return { keys: this.#keys.map((k) => ({ ...(k.publicKey.export({ format: 'jwk' }) as { x: string }), kty: 'OKP', crv: 'Ed25519', kid: k.id, use: 'sig', alg: 'EdDSA' })) };
  }
}

/** Checks a signature with a published JWK: what a person (or a court) can do without our secret. */
export function verifySignature(value: unknown, signature: string, jwk: PublicJwk): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
    return verify(null, Buffer.from(canonicalJson(value)), key, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/** A new key entry for DATA_RIGHTS_SIGNING_KEYS. */
export function generateSigningKey(id = `k${Date.now().toString(36)}`): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}
