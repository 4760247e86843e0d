/** Verifier keys of signed notes: the Ed25519 verifier of a key name, and the vkey and JWK set files that list them. */
import { ed25519PublicKey } from '@harakaflow/core';
import { verify, type KeyObject } from 'node:crypto';
import { AuditKeysError } from './errors.js';
import { canonicalBase64, ED25519, hex8, isKeyName, noteKeyId } from './note-text.js';

/** A public key that checks signatures of one key name (an Ed25519 vkey). */
export interface NoteVerifier {
  /** The key name: for the audit log, its origin. */
  readonly name: string;
  /** The 32-bit key ID (big-endian), as in a signature's first four bytes. */
  readonly keyId: number;
  /** Its verifier key, `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
  readonly vkey: string;
  /** Checks an Ed25519 signature over `message`; false for anything else. */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** A key of the JWK set served at `/.well-known/harakaflow-audit-keys.json` (RFC 8037), with its vkey. */
export interface AuditJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  /** base64url of the 32-byte public key. */
  x: string;
  /** The key's id in AUDIT_SIGNING_KEYS (which entry to keep listed, or retire). */
  kid: string;
  use: 'sig';
  alg: 'EdDSA';
  /**
   * The C2SP verifier key of the same public key: its key name (the log's origin) is what a note verifier needs besides
   * `x`.
   */
  vkey: string;
}

export function ed25519Verifier(
  name: string,
  publicBytes: Buffer,
  publicKey: KeyObject = ed25519PublicKey(publicBytes),
): NoteVerifier {
  const keyId = noteKeyId(name, publicBytes);
  const vkey = `${name}+${hex8(keyId)}+${Buffer.concat([Buffer.from([ED25519]), publicBytes]).toString('base64')}`;
  return {
    name,
    keyId,
    vkey,
    verify: (message, signature) => {
      if (signature.length !== 64) return false;
      try {
        return verify(null, message, publicKey, signature);
      } catch {
        return false;
      }
    },
  };
}

/** A verifier from its vkey; throws AuditKeysError (`why` names the part, the key is public). */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const bad = (why: string) => new AuditKeysError(`verifier key ${JSON.stringify(String(vkey).slice(0, 200))} ${why}`);
  if (typeof vkey !== 'string') throw bad('is not text');
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw bad('is not <name>+<hex key ID>+<base64 key>');
  const name = vkey.slice(0, first);
  const id = vkey.slice(first + 1, second);
  if (!isKeyName(name)) throw bad('has no valid key name');
  if (!/^[0-9a-f]{8}$/i.test(id)) throw bad('has no 8-digit hex key ID');
  const key = canonicalBase64(vkey.slice(second + 1));
  if (!key || key.length !== 33 || key[0] !== ED25519)
    throw bad('is not an Ed25519 key (type 0x01 and 32 bytes, base64)');
  const verifier = ed25519Verifier(name, key.subarray(1));
  if (verifier.keyId !== Number.parseInt(id, 16)) throw bad("has a key ID that is not its key's");
  return verifier;
}

/**
 * The verifiers of a `--public-key` file: the served `.txt` (one vkey a line; blank lines and `#`
 * comments ignored) or the served JWK set (each key's `vkey` checked against its `x`). Throws
 * AuditKeysError naming the line or key at fault.
 */
export function parseVerifierKeys(text: string): NoteVerifier[] {
  if (typeof text !== 'string') throw new AuditKeysError('verifier keys are not text');
  const found: NoteVerifier[] = [];
  if (text.trimStart().startsWith('{')) {
    let set: unknown;
    try {
      set = JSON.parse(text);
    } catch {
      throw new AuditKeysError('the JWK set is not valid JSON');
    }
    const keys = (set as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new AuditKeysError('the JWK set has no "keys" array');
    keys.forEach((jwk: unknown, i) => {
      const k = (jwk ?? {}) as Partial<Record<keyof AuditJwk, unknown>>;
      const at = `key ${i + 1} of the JWK set`;
      if (k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string')
        throw new AuditKeysError(`${at} is not an Ed25519 key (kty OKP, crv Ed25519, x)`);
      if ((k.alg !== undefined && k.alg !== 'EdDSA') || (k.use !== undefined && k.use !== 'sig'))
        throw new AuditKeysError(`${at} is not for EdDSA signatures`);
      if (typeof k.vkey !== 'string')
        throw new AuditKeysError(`${at} has no "vkey" (its signed-note verifier key, which names the log)`);
      let verifier: NoteVerifier;
      try {
        verifier = parseVerifierKey(k.vkey);
      } catch (error) {
        throw new AuditKeysError(`${at}: ${(error as Error).message.replace(/^@harakaflow\/audit: /, '')}`);
      }
      // The key is after the second '+' (after the name and the key ID): base64 has '+' among its letters.
      const v = verifier.vkey;
      if (
        Buffer.from(v.slice(v.indexOf('+', v.indexOf('+') + 1) + 1), 'base64')
          .subarray(1)
          .toString('base64url') !== k.x
      ) {
        throw new AuditKeysError(`${at} has a "vkey" of another key than its "x"`);
      }
      found.push(verifier);
    });
  } else {
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      try {
        found.push(parseVerifierKey(line));
      } catch (error) {
        throw new AuditKeysError(`line ${i + 1}: ${(error as Error).message.replace(/^@harakaflow\/audit: /, '')}`);
      }
    });
  }
  if (!found.length) throw new AuditKeysError('no verifier key found (expected one vkey a line, or a JWK set)');
  // The same key twice is harmless; two keys with one name and key ID would make a signature ambiguous.
  const byId = new Map<string, NoteVerifier>();
  for (const v of found) {
    const id = `${v.name}+${hex8(v.keyId)}`;
    const seen = byId.get(id);
    if (seen && seen.vkey !== v.vkey) throw new AuditKeysError(`two different keys are named ${id}`);
    byId.set(id, v);
  }
  return [...byId.values()];
}
