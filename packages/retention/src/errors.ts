/** The package's errors, made with @fastify/error: codes and statuses are public (README, "Errors"). */
import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

export const invalidOption = optionErrors('@harakaflow/retention', 'HF_RETENTION_INVALID_OPTION');

export const InvalidHold = createError('HF_RETENTION_INVALID_HOLD', '%s', 400);
export const HoldNotFound = createError('HF_RETENTION_HOLD_NOT_FOUND', 'No such active hold', 404);
export const UnknownClass = createError('HF_RETENTION_UNKNOWN_CLASS', 'No retention class is named %s', 400);
