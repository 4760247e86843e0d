import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

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

export const invalidOption = optionErrors('@harakaflow/quota', 'HF_QUOTA_INVALID_OPTION');

export function unknownPlan(where: string, plan: string): TypeError {
  return Object.assign(new TypeError(`@harakaflow/quota: ${where} names an unknown plan "${plan}"`), {
    code: 'HF_QUOTA_UNKNOWN_PLAN',
  });
}
