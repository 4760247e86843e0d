/** The package's errors, made with @fastify/error: codes and statuses are public (README, "Errors"). */
import createError from '@fastify/error';
import type { OptionError } from '@harakaflow/core';

/** A wrong option, thrown at registration (a TypeError, as Node's own). */
export const RetentionInvalidOption = createError<'HF_RETENTION_INVALID_OPTION', 500, [string, string]>(
  'HF_RETENTION_INVALID_OPTION',
  '@harakaflow/retention: option "%s" %s',
  500,
  TypeError,
);
export const InvalidHold = createError('HF_RETENTION_INVALID_HOLD', '%s', 400);
export const HoldNotFound = createError('HF_RETENTION_HOLD_NOT_FOUND', 'No such active hold', 404);
export const UnknownClass = createError('HF_RETENTION_UNKNOWN_CLASS', 'No retention class is named %s', 400);
/** Another runner took the lease during a class: that class fails, reported in the run (README, "Errors"). */
export const LeaseLost = createError('HF_RETENTION_LEASE_LOST', 'the retention lease was lost', 500);

/** The codes of every error above. */
export type RetentionErrorCode =
  | 'HF_RETENTION_INVALID_OPTION'
  | 'HF_RETENTION_INVALID_HOLD'
  | 'HF_RETENTION_HOLD_NOT_FOUND'
  | 'HF_RETENTION_UNKNOWN_CLASS'
  | 'HF_RETENTION_LEASE_LOST';

export const invalidOption: OptionError = (option, why) => new RetentionInvalidOption(option, why);
