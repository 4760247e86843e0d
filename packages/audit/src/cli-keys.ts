/**
 * `hf-audit verify --public-key FILE` (issue 33 item 1): the public keys a whole audit database is
 * verified with, without any secret. FILE is what the app serves, `/.well-known/harakaflow-audit-keys.txt`
 * (one vkey a line) or `/.well-known/harakaflow-audit-keys.json` (the JWK set), saved as is.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AuditKeysError } from './errors.js';
import { parseVerifierKeys, type NoteVerifier } from './note.js';

/** The largest key file read: a served file of a hundred keys is under 30 kB. */
export const MAX_KEY_FILE_BYTES = 256 * 1024;

/**
 * The verifiers in `path`. Throws AuditKeysError (code HF_AUDIT_INVALID_KEYS) with a message for
 * the operator, naming the file and the line or key at fault: the CLI prints it and exits 2.
 */
export function loadVerifierKeys(path: string): NoteVerifier[] {
  const at = `--public-key ${path}`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new AuditKeysError(`${at} cannot be read (${(error as { code?: string }).code ?? 'error'})`);
  }
  let bytes: Buffer;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new AuditKeysError(`${at} is not a file`);
    // Read at most one byte past the cap: a file that grows while read is still refused.
    bytes = Buffer.alloc(Math.min(stat.size, MAX_KEY_FILE_BYTES) + 1);
    let length = 0;
    for (let n; length < bytes.length && (n = readSync(fd, bytes, length, bytes.length - length, null)) > 0; ) length += n;
    if (length > MAX_KEY_FILE_BYTES) throw new AuditKeysError(`${at} is over ${MAX_KEY_FILE_BYTES / 1024} kB: it should hold the served verifier keys or JWK set only`);
    bytes = bytes.subarray(0, length);
  } catch (error) {
    if (error instanceof AuditKeysError) throw error;
    throw new AuditKeysError(`${at} cannot be read (${(error as { code?: string }).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AuditKeysError(`${at} is not UTF-8 text`);
  }
  try {
    return parseVerifierKeys(text);
  } catch (error) {
    throw new AuditKeysError(`${at}: ${(error as Error).message.replace(/^@harakaflow\/audit: /, '')}`);
  }
}
