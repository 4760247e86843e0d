/** The package's errors, made with @fastify/error: codes and statuses are public (README, "Errors"). */
import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

export const invalidOption = optionErrors('@harakaflow/data-rights', 'HF_DATA_RIGHTS_INVALID_OPTION');

export const RequestNotFound = createError('HF_DATA_RIGHTS_NOT_FOUND', 'No such privacy request', 404);
export const InvalidTransition = createError(
  'HF_DATA_RIGHTS_INVALID_TRANSITION',
  'The request cannot go from %s to %s',
  409,
);
export const InvalidRequest = createError('HF_DATA_RIGHTS_INVALID_REQUEST', '%s', 400);
export const SubjectNotFound = createError(
  'HF_DATA_RIGHTS_SUBJECT_NOT_FOUND',
  'The subject of this request does not exist',
  404,
);
export const AlreadyExtended = createError(
  'HF_DATA_RIGHTS_ALREADY_EXTENDED',
  'The request was already extended once',
  409,
);
export const PendingDeletion = createError(
  'HF_DATA_RIGHTS_PENDING_DELETION',
  'This account is being deleted; only its privacy requests can be read, and the deletion canceled',
  403,
);
export const Restricted = createError(
  'HF_DATA_RIGHTS_RESTRICTED',
  'Processing of this account is restricted at its request',
  403,
);
export const ExportGone = createError('HF_DATA_RIGHTS_EXPORT_GONE', 'This export link was used or has expired', 410);
export const ExportNotAcceptable = createError(
  'HF_DATA_RIGHTS_NOT_ACCEPTABLE',
  'Exports are served as application/json or application/zip',
  406,
);
export const ExportPageOnly = createError(
  'HF_DATA_RIGHTS_EXPORT_PAGE',
  'GET on an export link answers its download page (text/html) and changes nothing; POST the link to download the export',
  406,
);
/**
 * The emailed code of a request made without an API key (issue 32): wrong (or no code waits for this id), expired, or
 * tried 5 times.
 */
export const CodeInvalid = createError(
  'HF_DATA_RIGHTS_CODE_INVALID',
  'This code is not the one we sent for this request, or no code waits for it: check it, or ask for a new one',
  400,
);
export const CodeExpired = createError(
  'HF_DATA_RIGHTS_CODE_EXPIRED',
  'This code has expired (a code works for 10 minutes): ask for a new one',
  410,
);
export const CodeAttempts = createError(
  'HF_DATA_RIGHTS_CODE_ATTEMPTS',
  'This code was tried 5 times and no longer works: ask for a new one',
  410,
);
export const invalidSigningKeys = (why: string) =>
  Object.assign(new TypeError(`@harakaflow/data-rights: DATA_RIGHTS_SIGNING_KEYS ${why}`), {
    code: 'HF_DATA_RIGHTS_INVALID_KEYS',
  });

/** Every code of the package: those it answers with, and the two of a wrong option or signing key at startup. */
export type DataRightsErrorCode =
  | 'HF_DATA_RIGHTS_NOT_FOUND'
  | 'HF_DATA_RIGHTS_INVALID_TRANSITION'
  | 'HF_DATA_RIGHTS_INVALID_REQUEST'
  | 'HF_DATA_RIGHTS_SUBJECT_NOT_FOUND'
  | 'HF_DATA_RIGHTS_ALREADY_EXTENDED'
  | 'HF_DATA_RIGHTS_PENDING_DELETION'
  | 'HF_DATA_RIGHTS_RESTRICTED'
  | 'HF_DATA_RIGHTS_EXPORT_GONE'
  | 'HF_DATA_RIGHTS_NOT_ACCEPTABLE'
  | 'HF_DATA_RIGHTS_EXPORT_PAGE'
  | 'HF_DATA_RIGHTS_CODE_INVALID'
  | 'HF_DATA_RIGHTS_CODE_EXPIRED'
  | 'HF_DATA_RIGHTS_CODE_ATTEMPTS'
  | 'HF_DATA_RIGHTS_INVALID_OPTION'
  | 'HF_DATA_RIGHTS_INVALID_KEYS';

/** Every code the package answers with (the README's errors table lists each). */
export const DATA_RIGHTS_ERROR_CODES = [
  'HF_DATA_RIGHTS_NOT_FOUND',
  'HF_DATA_RIGHTS_INVALID_TRANSITION',
  'HF_DATA_RIGHTS_INVALID_REQUEST',
  'HF_DATA_RIGHTS_SUBJECT_NOT_FOUND',
  'HF_DATA_RIGHTS_ALREADY_EXTENDED',
  'HF_DATA_RIGHTS_PENDING_DELETION',
  'HF_DATA_RIGHTS_RESTRICTED',
  'HF_DATA_RIGHTS_EXPORT_GONE',
  'HF_DATA_RIGHTS_NOT_ACCEPTABLE',
  'HF_DATA_RIGHTS_EXPORT_PAGE',
  'HF_DATA_RIGHTS_CODE_INVALID',
  'HF_DATA_RIGHTS_CODE_EXPIRED',
  'HF_DATA_RIGHTS_CODE_ATTEMPTS',
] as const satisfies readonly DataRightsErrorCode[];
