/** Every error of the audit package. Codes are public API (README, "Errors"). */
import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

/** A sync-durability event could not be committed: the caller must not go on (fail closed). */
export const AuditUnavailable = createError(
  'HF_AUDIT_UNAVAILABLE',
  'The audit log could not record this action; it was not performed',
  503,
);
/** GET /v1/audit/events (queryEvents): a bad filter or cursor. */
export const AuditInvalidQuery = createError('HF_AUDIT_INVALID_QUERY', '%s', 400);
/**
 * Server-log retention asked to purge a day of the last week (never done, however configured; the SQL functions refuse
 * it too).
 */
export const AuditPurgeTooRecent = createError(
  'HF_AUDIT_PURGE_TOO_RECENT',
  'audit days before %s are too recent to purge: the last 7 days are always kept',
  400,
);

/** Why a checkpoint note was refused (issue 33): public API, with HF_AUDIT_NOTE_INVALID. */
export type NoteProblem = 'malformed' | 'unsigned' | 'unknown-key' | 'bad-signature' | 'origin-mismatch';

/**
 * A signed checkpoint that does not open (note.ts `openCheckpoint`): `reason` says why, the message never quotes the
 * note.
 */
const NoteInvalid = createError('HF_AUDIT_NOTE_INVALID', '@harakaflow/audit: checkpoint note %s: %s', 500);
/** The @fastify/error constant above with its `reason` kept (public API: README, "Signed checkpoints"). */
export class AuditNoteError extends NoteInvalid {
  readonly reason: NoteProblem;
  constructor(reason: NoteProblem, why: string) {
    super(reason, why);
    this.reason = reason;
  }
}

/** AUDIT_SIGNING_KEYS, a log origin or a verifier key file that cannot be used: names the entry, never key material. */
export const AuditKeysError = createError('HF_AUDIT_INVALID_KEYS', '@harakaflow/audit: %s', 500, TypeError);
/** Its instances' type, as when it was a class (`error as AuditKeysError`). */
export type AuditKeysError = InstanceType<typeof AuditKeysError>;

export const invalidOption = optionErrors('@harakaflow/audit', 'HF_AUDIT_INVALID_OPTION');

/** The spill directory is not safe to use (startup fails naming it). */
export const SpillDirectoryError = createError(
  'HF_AUDIT_SPILL_DIRECTORY',
  '@harakaflow/audit: the spill directory %s %s',
  500,
);
export type SpillDirectoryError = InstanceType<typeof SpillDirectoryError>;

/** The code a rejected spill file is logged and audited with. */
export const SPILL_REJECTED = 'HF_AUDIT_SPILL_REJECTED';

/** The codes of the README's "Errors" table: thrown, logged or audited. */
export type AuditErrorCode =
  | 'HF_AUDIT_INVALID_OPTION'
  | 'HF_AUDIT_UNAVAILABLE'
  | 'HF_AUDIT_INVALID_QUERY'
  | 'HF_AUDIT_PURGE_TOO_RECENT'
  | 'HF_AUDIT_SPILL_DIRECTORY'
  | 'HF_AUDIT_SPILL_FULL'
  | 'HF_AUDIT_SPILL_REJECTED'
  | 'HF_AUDIT_INVALID_KEYS'
  | 'HF_AUDIT_NOTE_INVALID';
