/**
 * `hf-audit verify --public-key FILE` (issue 33 item 1): the public keys a whole audit database is
 * verified with, without any secret. FILE is what the app serves, `/.well-known/harakaflow-audit-keys.txt`
 * (one vkey a line) or `/.well-known/harakaflow-audit-keys.json` (the JWK set), saved as is.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { AuditKeysError } from './errors.js';
import { parseVerifierKeys, type NoteVerifier } from './note.js';

/** The largest key file read: a served file of a hundred keys is under 30 kB. */
export const MAX_KEY_FILE_BYTES = 256 * 1024;

/**
 * The bytes of a small regular file, at most `maxBytes`: opened without blocking (a FIFO or a device
 * is refused, never waited on), read one byte past the cap (a file that grows while read is still
 * refused). Throws AuditKeysError naming `at` (the option and its file), never the content.
 */
export function readSmallFile(path: string, maxBytes: number, at: string, why: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new AuditKeysError(`${at} cannot be read (${(error as { code?: string }).code ?? 'error'})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new AuditKeysError(`${at} is not a file`);
    const bytes = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    for (let n; length < bytes.length && (n = readSync(fd, bytes, length, bytes.length - length, null)) > 0;)
      length += n;
    if (length > maxBytes) throw new AuditKeysError(`${at} is over ${Math.round(maxBytes / 1024)} kB: ${why}`);
    return bytes.subarray(0, length);
  } catch (error) {
    if (error instanceof AuditKeysError) throw error;
    throw new AuditKeysError(`${at} cannot be read (${(error as { code?: string }).code ?? 'error'})`);
  } finally {
    closeSync(fd);
  }
}

/**
 * The verifiers in `path`. Throws AuditKeysError (code HF_AUDIT_INVALID_KEYS) with a message for
 * the operator, naming the file and the line or key at fault: the CLI prints it and exits 2.
 */
export function loadVerifierKeys(path: string): NoteVerifier[] {
  const at = `--public-key ${path}`;
  const bytes = readSmallFile(path, MAX_KEY_FILE_BYTES, at, 'it should hold the served verifier keys or JWK set only');
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
