/** Every error of the audit package. Codes are public API (README, "Errors"). */
import createError from '@fastify/error';

/** A sync-durability event could not be committed: the caller must not go on (fail closed). */
export const AuditUnavailable = createError('HF_AUDIT_UNAVAILABLE', 'The audit log could not record this action; it was not performed', 503);
/** GET /v1/audit/events (queryEvents): a bad filter or cursor. */
export const AuditInvalidQuery = createError('HF_AUDIT_INVALID_QUERY', '%s', 400);
/** Server-log retention asked to purge a day of the last week (never done, however configured; the SQL functions refuse it too). */
export const AuditPurgeTooRecent = createError('HF_AUDIT_PURGE_TOO_RECENT', 'audit days before %s are too recent to purge: the last 7 days are always kept', 400);

import { optionErrors } from '@harakaflow/core';

export const invalidOption = optionErrors('@harakaflow/audit', 'HF_AUDIT_INVALID_OPTION');

/** The spill directory is not safe to use (startup fails naming it). */
export class SpillDirectoryError extends Error {
  readonly code = 'HF_AUDIT_SPILL_DIRECTORY';
  constructor(path: string, why: string) {
    super(`@harakaflow/audit: the spill directory ${path} ${why}`);
    this.name = 'SpillDirectoryError';
  }
}

/** The code a rejected spill file is logged and audited with. */
export const SPILL_REJECTED = 'HF_AUDIT_SPILL_REJECTED';
