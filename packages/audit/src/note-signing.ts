/** Signing checkpoints: their note text, and the audit log's Ed25519 signing keys (AUDIT_SIGNING_KEYS). */
import { generateEd25519Key, parseEd25519Keys, type Ed25519Key } from '@harakaflow/core';
import { sign } from 'node:crypto';
import { AuditKeysError, AuditNoteError } from './errors.js';
import { ed25519Verifier, type AuditJwk, type NoteVerifier } from './note-keys.js';
import { isKeyName, MAX_NOTE_BYTES, NOT_NOTE_TEXT, SIGNATURE_PREFIX } from './note-text.js';

/**
 * The note text of a checkpoint: origin, decimal tree size, base64 root hash, extension lines, each ending in a
 * newline.
 */
export function checkpointBody(origin: string, size: number, root: Uint8Array, extensions: string[] = []): string {
  if (!isKeyName(origin))
    throw new AuditNoteError(
      'malformed',
      'the origin must be a key name (non-empty, no spaces, no "+", no control characters)',
    );
  if (!Number.isSafeInteger(size) || size < 0)
    throw new AuditNoteError('malformed', 'the tree size must be a whole number from 0');
  if (!(root instanceof Uint8Array) || root.length !== 32)
    throw new AuditNoteError('malformed', 'the root hash must be 32 bytes');
  for (const line of extensions) {
    if (typeof line !== 'string' || !line || line.includes('\n') || NOT_NOTE_TEXT.test(line))
      throw new AuditNoteError(
        'malformed',
        'an extension line must be non-empty text without newlines or control characters',
      );
  }
  return [origin, String(size), Buffer.from(root).toString('base64'), ...extensions]
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * The audit log's signing keys: AUDIT_SIGNING_KEYS (`id:base64-of-a-32-byte-seed`, comma-separated,
 * the first signs) and the log's origin, which is every key's name. Throws AuditKeysError naming
 * the bad entry by position or id, never its seed.
 */
export class AuditSigningKeys {
  readonly origin: string;
  readonly #keys: (Ed25519Key & { verifier: NoteVerifier })[];

  constructor(text: string, origin: string) {
    if (!isKeyName(origin))
      throw new AuditKeysError(
        'the audit log origin must be a key name: non-empty, no spaces, no "+", no control characters',
      );
    this.origin = origin;
    this.#keys = parseEd25519Keys(text, (why) => new AuditKeysError(`AUDIT_SIGNING_KEYS ${why}`)).map((key) => ({
      ...key,
      verifier: ed25519Verifier(origin, key.publicBytes, key.publicKey),
    }));
  }

  /** The keys' ids, the signing one first. */
  get ids(): string[] {
    return this.#keys.map((k) => k.id);
  }

  /** Signs a note text (every line ending in a newline) with the first key: the whole signed note. */
  signNote(text: string): string {
    if (typeof text !== 'string' || !text.endsWith('\n') || NOT_NOTE_TEXT.test(text)) {
      throw new AuditNoteError(
        'malformed',
        'a note text is UTF-8 ending in a newline, without control characters but newlines',
      );
    }
    const key = this.#keys[0]!;
    const signature = sign(null, Buffer.from(text, 'utf8'), key.privateKey);
    const id = Buffer.alloc(4);
    id.writeUInt32BE(key.verifier.keyId);
    const note = `${text}\n${SIGNATURE_PREFIX}${this.origin} ${Buffer.concat([id, signature]).toString('base64')}\n`;
    if (Buffer.byteLength(note) > MAX_NOTE_BYTES)
      throw new AuditNoteError('malformed', `a signed note is at most ${MAX_NOTE_BYTES} bytes`);
    return note;
  }

  /** Every key's signed-note verifier key (served one a line at `/.well-known/harakaflow-audit-keys.txt`). */
  verifierKeys(): string[] {
    return this.#keys.map((k) => k.verifier.vkey);
  }

  /** Every key as a JWK set (served at `/.well-known/harakaflow-audit-keys.json`). */
  jwks(): { keys: AuditJwk[] } {
    return {
      keys: this.#keys.map((k) => ({
        kty: 'OKP',
        crv: 'Ed25519',
        x: k.publicBytes.toString('base64url'),
        kid: k.id,
        use: 'sig',
        alg: 'EdDSA',
        vkey: k.verifier.vkey,
      })),
    };
  }

  /** Verifiers of every listed key, for `openCheckpoint`. */
  verifiers(): NoteVerifier[] {
    return this.#keys.map((k) => k.verifier);
  }
}

/** A new AUDIT_SIGNING_KEYS entry, `id:base64(32-byte seed)`. */
export function generateAuditSigningKey(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new AuditKeysError('a key id is 1 to 32 letters, digits, "_" or "-"');
  return generateEd25519Key(id);
}
