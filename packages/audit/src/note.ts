/**
 * Signed checkpoints (issue 33 item 1): the audit log's tree heads as C2SP signed notes
 * (https://c2sp.org/signed-note) in the tlog-checkpoint format (https://c2sp.org/tlog-checkpoint),
 * Ed25519 only, with node:crypto. A checkpoint is
 *
 *     <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n...]
 *     \n
 *     — <origin> base64(4-byte key ID || 64-byte Ed25519 signature)\n
 *
 * The log's key name is its origin; key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]; a
 * verifier key (vkey) is `<name>+<hex key ID>+<base64(0x01 || public key)>`. AUDIT_SIGNING_KEYS has
 * DATA_RIGHTS_SIGNING_KEYS' syntax (`id:base64-seed`, comma-separated, the first signs, all listed
 * keys verify), so a retired key's checkpoints verify while it stays listed.
 *
 * Parsing is strict and total: `openCheckpoint` throws only AuditNoteError, whatever it is given.
 */
import { ed25519PublicKey, generateEd25519Key, parseEd25519Keys, type Ed25519Key } from '@harakaflow/core';
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { AuditKeysError, AuditNoteError } from './errors.js';

/** The largest note opened or signed, bytes (a checkpoint is ~150 bytes; the cap bounds the work of a hostile input). */
export const MAX_NOTE_BYTES = 1 << 20;
/** The most signature lines a note may carry (golang.org/x/mod/sumdb/note's limit; the spec asks for at least 16). */
export const MAX_SIGNATURES = 100;
const SIGNATURE_PREFIX = '\u2014 '; // em dash, space
const ED25519 = 0x01; // the signature type byte of signed-note's Ed25519 keys
// Control characters (every one below U+0020 but newline, so CR too) and lone UTF-16 surrogates,
// which are not UTF-8 text: a note holding either is malformed.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NOT_NOTE_TEXT =
  /[\u0000-\u0009\u000b-\u001f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// signed-note: key names have no Unicode space and no plus. `\s` is Unicode's White_Space plus
// U+FEFF; U+0085 is White_Space too (Go's unicode.IsSpace), not in `\s`.
const NOT_IN_NAME = /[\s\u0085+]/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SIZE = /^(?:0|[1-9][0-9]*)$/;

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
  /** The C2SP verifier key of the same public key: its key name (the log's origin) is what a note verifier needs besides `x`. */
  vkey: string;
}

/** What a checkpoint says, once a known key of its origin signed it. */
export interface OpenedCheckpoint {
  origin: string;
  size: number;
  /** The 32-byte root hash. */
  root: Buffer;
  extensions: string[];
  /** The key name and key ID (8 hex digits) of the first signature that verified. */
  keyName: string;
  keyId: string;
}

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

const hex8 = (id: number) => id.toString(16).padStart(8, '0');
/** Standard base64 that decodes to what re-encodes to it: one spelling per value (no stray padding bits). */
const canonicalBase64 = (text: string): Buffer | null => {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
};

function ed25519Verifier(
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

/** The note text of a checkpoint: origin, decimal tree size, base64 root hash, extension lines, each ending in a newline. */
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

/** A signed note whose signatures checked out: its text, and the known keys that signed it, in order. */
export interface OpenedNote {
  text: string;
  signers: { keyName: string; keyId: string }[];
}

/**
 * Opens any signed note (signed-note rules: UTF-8 without control characters but newlines, at most
 * MAX_NOTE_BYTES and MAX_SIGNATURES): at least one signature by a key of `verifiers`, every known
 * key's signature valid, unknown keys' signatures ignored. Throws AuditNoteError, and nothing else.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  return total(() => {
    const parsed = parseNote(note);
    return {
      text: parsed.text,
      signers: checkSignatures(parsed, verifiers).map((v) => ({ keyName: v.name, keyId: hex8(v.keyId) })),
    };
  });
}

/**
 * Opens a signed checkpoint: parses it strictly (signed-note syntax, tlog-checkpoint body, size in
 * decimal without leading zeros, a 32-byte root in canonical base64, at most MAX_SIGNATURES
 * signatures, MAX_NOTE_BYTES) and checks that a key of `verifiers` named after the origin signed
 * it. Signatures by unknown keys are ignored (witnesses' cosignatures, another log's keys); a known
 * key's signature that fails rejects the note. Throws AuditNoteError, and nothing else, otherwise.
 */
export function openCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedCheckpoint {
  return total(() => {
    const parsed = parseNote(note);
    const checkpoint = parseBody(parsed.text);
    const signer = checkSignatures(parsed, verifiers).find((v) => v.name === checkpoint.origin);
    if (!signer) throw new AuditNoteError('origin-mismatch', 'no known key named after its origin signed it');
    return { ...checkpoint, keyName: signer.name, keyId: hex8(signer.keyId) };
  });
}

/** Only AuditNoteError leaves: anything else thrown while reading hostile input is a malformed note. */
function total<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof AuditNoteError) throw error;
    throw new AuditNoteError('malformed', 'it could not be read');
  }
}

interface ParsedNote {
  text: string;
  message: Buffer;
  signatures: { name: string; keyId: number; signature: Buffer }[];
}

function parseNote(input: string | Uint8Array): ParsedNote {
  const malformed = (why: string) => new AuditNoteError('malformed', why);
  let note: string;
  if (typeof input === 'string') note = input;
  else if (input instanceof Uint8Array) {
    if (input.length > MAX_NOTE_BYTES) throw malformed(`it is over ${MAX_NOTE_BYTES} bytes`);
    try {
      note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      throw malformed('it is not UTF-8');
    }
  } else throw malformed('it is not text');
  if (note.length > MAX_NOTE_BYTES || Buffer.byteLength(note) > MAX_NOTE_BYTES)
    throw malformed(`it is over ${MAX_NOTE_BYTES} bytes`);
  if (NOT_NOTE_TEXT.test(note)) throw malformed('it holds a control character (CR included) or is not UTF-8');

  // The text ends at the last blank line; what follows is signature lines, each ending in a newline.
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || split + 2 === note.length) {
    // No signature block: a bare note text (a checkpoint body, perhaps), reported as unsigned once its text is read.
    if (!note.endsWith('\n')) throw malformed('it does not end in a newline');
    const text = split < 0 ? note : note.slice(0, split + 1);
    return { text, message: Buffer.from(text, 'utf8'), signatures: [] };
  }
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw malformed('its last signature line does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed(`it has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed('a signature line does not start with "— "');
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? '' : rest.slice(0, space);
    const bytes = space < 0 ? null : canonicalBase64(rest.slice(space + 1));
    if (!isKeyName(name) || !bytes || bytes.length < 5)
      throw malformed('a signature line is not "— <key name> <base64 key ID and signature>"');
    return { name, keyId: bytes.readUInt32BE(0), signature: bytes.subarray(4) };
  });
  return { text, message: Buffer.from(text, 'utf8'), signatures };
}

/** The known keys that signed, in signature order; throws when none did or when a known key's signature fails. */
function checkSignatures(note: ParsedNote, verifiers: readonly NoteVerifier[]): NoteVerifier[] {
  if (!note.signatures.length) throw new AuditNoteError('unsigned', 'it has no signature lines');
  const known = Array.isArray(verifiers) ? verifiers.filter((v) => v && typeof v.verify === 'function') : [];
  const signers: NoteVerifier[] = [];
  for (const { name, keyId, signature } of note.signatures) {
    const candidates = known.filter((v) => v.name === name && v.keyId === keyId);
    if (!candidates.length) continue; // an unknown key: ignored (signed-note)
    // Stricter than Go's note.Open, which skips a known key's repeated lines: every one must verify.
    const signer = candidates.find((v) => v.verify(note.message, signature));
    if (!signer) throw new AuditNoteError('bad-signature', `the signature of ${name}+${hex8(keyId)} does not verify`);
    if (!signers.includes(signer)) signers.push(signer);
  }
  if (!signers.length) throw new AuditNoteError('unknown-key', 'no signature is by a known key');
  return signers;
}

/** tlog-checkpoint's note text: origin, size, root hash, then optional non-empty extension lines. */
function parseBody(text: string): Omit<OpenedCheckpoint, 'keyName' | 'keyId'> {
  const malformed = (why: string) => new AuditNoteError('malformed', why);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || lines.some((line) => !line))
    throw malformed('a checkpoint is an origin, a tree size and a root hash, on non-empty lines');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (!SIZE.test(size) || !Number.isSafeInteger(Number(size)))
    throw malformed('its tree size is not a decimal number without leading zeros');
  const hash = canonicalBase64(root);
  if (!hash || hash.length !== 32) throw malformed('its root hash is not 32 bytes of base64');
  return { origin, size: Number(size), root: hash, extensions };
}
