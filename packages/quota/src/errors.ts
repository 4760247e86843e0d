import createError from '@fastify/error';
import type { OptionError } from '@harakaflow/core';

/** Every error of @harakaflow/quota. Codes are public API (README, "Errors"). */
export const QuotaExceeded = createError('HF_QUOTA_EXCEEDED', 'Too many requests: %s', 429);
export const QuotaBanned = createError(
  'HF_QUOTA_BANNED',
  'This client is temporarily blocked after repeated limit violations',
  403,
);
export const QuotaUnavailable = createError(
  'HF_QUOTA_UNAVAILABLE',
  'The quota store is unavailable; this route does not run without it',
  503,
);
/** A wrong option, thrown at registration (a TypeError, as Node's own). */
export const QuotaInvalidOption = createError<'HF_QUOTA_INVALID_OPTION', 500, [string, string]>(
  'HF_QUOTA_INVALID_OPTION',
  '@harakaflow/quota: option "%s" %s',
  500,
  TypeError,
);
/** A plan that `plans` does not define: at registration, from `status()`, or (500) named by `planOf`. */
export const QuotaUnknownPlan = createError<'HF_QUOTA_UNKNOWN_PLAN', 500, [string, string]>(
  'HF_QUOTA_UNKNOWN_PLAN',
  '@harakaflow/quota: %s names an unknown plan "%s"',
  500,
  TypeError,
);

/** The codes of every error above. */
export type QuotaErrorCode =
  | 'HF_QUOTA_EXCEEDED'
  | 'HF_QUOTA_BANNED'
  | 'HF_QUOTA_UNAVAILABLE'
  | 'HF_QUOTA_INVALID_OPTION'
  | 'HF_QUOTA_UNKNOWN_PLAN';

export const invalidOption: OptionError = (option, why) => new QuotaInvalidOption(option, why);

export const unknownPlan = (where: string, plan: string): TypeError => new QuotaUnknownPlan(where, plan);
