/**
 * Ed25519 signatures over manifests and receipts (issue 14 items 3 and 4), so a person can later
 * prove what they were given, or that their data was erased, with the public key alone.
 * DATA_RIGHTS_SIGNING_KEYS is `id:base64(32-byte seed)[,id:seed...]`: the first signs; every one's
 * public key is published (`publicKeys()`, served as a JWK set), so a retired key still verifies.
 */
import { canonicalJson, generateEd25519Key, parseEd25519Keys } from '@harakaflow/core';
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { invalidSigningKeys } from './errors.js';

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
    // The list's syntax and its errors are shared with AUDIT_SIGNING_KEYS (@harakaflow/core, ed25519.ts).
    this.#keys = parseEd25519Keys(text, invalidSigningKeys);
  }

  /** Signs the canonical JSON of `value` with the first key. */
  sign(value: unknown): Signature {
    const key = this.#keys[0]!;
    return {
      keyId: key.id,
      signature: sign(null, Buffer.from(canonicalJson(value)), key.privateKey).toString('base64url'),
    };
  }

  /** Every key's public half, as a JWK set (RFC 8037). */
  publicKeys(): { keys: PublicJwk[] } {
    return {
      keys: this.#keys.map((k) => ({
        ...(k.publicKey.export({ format: 'jwk' }) as { x: string }),
        kty: 'OKP',
        crv: 'Ed25519',
        kid: k.id,
        use: 'sig',
        alg: 'EdDSA',
      })),
    };
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
  return generateEd25519Key(id);
}
