/** The package's errors, made with @fastify/error: codes and statuses are public (README, "Errors"). */
import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

export const invalidOption = optionErrors('@harakaflow/notify', 'HF_NOTIFY_INVALID_OPTION');

export const UnknownKind = createError('HF_NOTIFY_UNKNOWN_KIND', 'Unknown notification kind %s', 400);
export const NotOptional = createError(
  'HF_NOTIFY_NOT_OPTIONAL',
  'Notifications of kind %s cannot be turned off (security and legal notices)',
  400,
);
export const BadUnsubscribeLink = createError(
  'HF_NOTIFY_UNSUBSCRIBE_INVALID',
  'This unsubscribe link is not valid or has expired',
  400,
);
/** A template whose data lacks a value: a failed send (retried, then failed), never an HTTP answer. */
export const templateData = (kind: string, name: string) =>
  Object.assign(new Error(`@harakaflow/notify: the ${kind} template needs ${name}`), {
    code: 'HF_NOTIFY_TEMPLATE_DATA',
  });
export const InvalidFilter = createError('HF_NOTIFY_INVALID_FILTER', '%s', 400);
/** Acknowledging a notice the account does not have (an app's route: `POST /v1/me/notices/:id/ack`). */
export const NoticeNotFound = createError('HF_NOTIFY_NOTICE_NOT_FOUND', 'This account has no such notice', 404);

/** Startup stops: a material policy version whose 14 days of notice can no longer be given (§11). */
export const noticeTooLate = (key: string, days: number, noticeDays = 14, what = 'material policy version') =>
  Object.assign(
    new Error(
      `@harakaflow/notify: ${what} "${key}" takes effect in ${days.toFixed(1)} days and its notices were never sent; at least ${noticeDays} days' notice is promised (§11): move its effective date`,
    ),
    { code: 'HF_NOTIFY_NOTICE_TOO_LATE', version: key },
  );

/** Every code the package answers with (the README's errors table lists each). */
export const NOTIFY_ERROR_CODES = [
  'HF_NOTIFY_UNKNOWN_KIND',
  'HF_NOTIFY_NOT_OPTIONAL',
  'HF_NOTIFY_UNSUBSCRIBE_INVALID',
  'HF_NOTIFY_TEMPLATE_DATA',
  'HF_NOTIFY_INVALID_FILTER',
  'HF_NOTIFY_NOTICE_NOT_FOUND',
] as const;
