import createError from '@fastify/error';
import type { OptionError } from '@harakaflow/core';

/**
 * Every error of @harakaflow/age-gate. The refusals are neutral on purpose (after the FTC's
 * guidance for age screens): no message says what age is required, so a refusal does not teach
 * the answer. NOT_ELIGIBLE and BLOCKED say the same thing.
 */
const NEUTRAL = 'We cannot create an account with the details provided.';

export const InvalidDate = createError(
  'HF_AGE_GATE_INVALID_DATE',
  'dateOfBirth must be a real calendar date, written YYYY-MM-DD',
  400,
);
export const NotEligible = createError('HF_AGE_GATE_NOT_ELIGIBLE', NEUTRAL, 403);
export const Blocked = createError('HF_AGE_GATE_BLOCKED', NEUTRAL, 403);
export const VerificationRequired = createError(
  'HF_AGE_GATE_REQUIRED',
  'This route needs an account whose age has been verified',
  403,
);
export const Restricted = createError('HF_AGE_GATE_RESTRICTED', 'This account is restricted', 403);

/** A wrong option, thrown at registration (a TypeError, as Node's own). */
export const AgeGateInvalidOption = createError<'HF_AGE_GATE_INVALID_OPTION', 500, [string, string]>(
  'HF_AGE_GATE_INVALID_OPTION',
  '@harakaflow/age-gate: option "%s" %s',
  500,
  TypeError,
);

/** The codes of every error above. */
export type AgeGateErrorCode =
  | 'HF_AGE_GATE_INVALID_DATE'
  | 'HF_AGE_GATE_NOT_ELIGIBLE'
  | 'HF_AGE_GATE_BLOCKED'
  | 'HF_AGE_GATE_REQUIRED'
  | 'HF_AGE_GATE_RESTRICTED'
  | 'HF_AGE_GATE_INVALID_OPTION';

export const invalidOption: OptionError = (option, why) => new AgeGateInvalidOption(option, why);
