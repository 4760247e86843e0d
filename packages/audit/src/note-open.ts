/** Opening signed notes and checkpoints: strict parsing of hostile input, then the known keys' signatures. */
import { AuditNoteError } from './errors.js';
import type { NoteVerifier } from './note-keys.js';
import {
  canonicalBase64,
  hex8,
  isKeyName,
  MAX_NOTE_BYTES,
  MAX_SIGNATURES,
  NOT_NOTE_TEXT,
  SIGNATURE_PREFIX,
} from './note-text.js';

const SIZE = /^(?:0|[1-9][0-9]*)$/;

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
