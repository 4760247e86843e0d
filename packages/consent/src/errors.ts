import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

/** Every error of @harakaflow/consent. Codes are public API (README, "Errors"). */
export const InvalidBody = createError('HF_CONSENT_INVALID_BODY', 'Invalid consent decision: %s', 400);

export const invalidOption = optionErrors('@harakaflow/consent', 'HF_CONSENT_INVALID_OPTION');

export function noticePeriod(version: string, days: number): TypeError {
  return Object.assign(
    new TypeError(
      `@harakaflow/consent: material policy version "${version}" takes effect ${days.toFixed(1)} days after publication; the policy (§11) promises at least 14`,
    ),
    { code: 'HF_CONSENT_NOTICE_PERIOD' },
  );
}
