import createError from '@fastify/error';
import type { OptionError } from '@harakaflow/core';

/** Every error of @harakaflow/consent. Codes are public API (README, "Errors"). */
export const InvalidBody = createError('HF_CONSENT_INVALID_BODY', 'Invalid consent decision: %s', 400);

/** A wrong option, thrown at registration (a TypeError, as Node's own). */
export const ConsentInvalidOption = createError<'HF_CONSENT_INVALID_OPTION', 500, [string, string]>(
  'HF_CONSENT_INVALID_OPTION',
  '@harakaflow/consent: option "%s" %s',
  500,
  TypeError,
);
/** A material policy version announced with less than the 14 days' notice §11 promises (registration). */
export const ConsentNoticePeriod = createError<'HF_CONSENT_NOTICE_PERIOD', 500, [string, string]>(
  'HF_CONSENT_NOTICE_PERIOD',
  '@harakaflow/consent: material policy version "%s" takes effect %s days after publication; the policy (§11) promises at least 14',
  500,
  TypeError,
);

/** The codes of every error above. */
export type ConsentErrorCode = 'HF_CONSENT_INVALID_BODY' | 'HF_CONSENT_INVALID_OPTION' | 'HF_CONSENT_NOTICE_PERIOD';

export const invalidOption: OptionError = (option, why) => new ConsentInvalidOption(option, why);

export const noticePeriod = (version: string, days: number): TypeError =>
  new ConsentNoticePeriod(version, days.toFixed(1));
