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
export { isKeyName, MAX_NOTE_BYTES, MAX_SIGNATURES, noteKeyId } from './note-text.js';
export { parseVerifierKey, parseVerifierKeys } from './note-keys.js';
export type { AuditJwk, NoteVerifier } from './note-keys.js';
export { AuditSigningKeys, checkpointBody, generateAuditSigningKey } from './note-signing.js';
export { openCheckpoint, openNote } from './note-open.js';
export type { OpenedCheckpoint, OpenedNote } from './note-open.js';
