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
/**
 * A bad IMAP URL or mailbox option (a TypeError at startup, like every bad option): names the variable, never the URL.
 */
export const invalidImapUrl = (name: string, why: string) =>
  Object.assign(new TypeError(`${name} ${why}`), { code: 'HF_NOTIFY_INVALID_OPTION' });
/** A template whose data lacks a value: a failed send (retried, then failed), never an HTTP answer. */
export const TemplateData = createError('HF_NOTIFY_TEMPLATE_DATA', '@harakaflow/notify: the %s template needs %s', 500);
export const InvalidFilter = createError('HF_NOTIFY_INVALID_FILTER', '%s', 400);
/** Acknowledging a notice the account does not have (an app's route: `POST /v1/me/notices/:id/ack`). */
export const NoticeNotFound = createError('HF_NOTIFY_NOTICE_NOT_FOUND', 'This account has no such notice', 404);

/**
 * Startup stops: a material policy version (or an announced change) whose notice can no longer be given in time (§11).
 */
export const NoticeTooLate = createError(
  'HF_NOTIFY_NOTICE_TOO_LATE',
  "@harakaflow/notify: %s takes effect in %s days and its notices were never sent; at least %s days' notice is promised (§11): move its effective date",
  500,
);
/** The NoticeTooLate of a version (`version`: its key), `days` before it takes effect. */
export const noticeTooLate = (key: string, days: number, noticeDays = 14, what = 'material policy version') =>
  Object.assign(new NoticeTooLate(`${what} "${key}"`, days.toFixed(1), noticeDays), { version: key });

/** Every code of the package: those it answers with, and those that stop a startup or a send. */
export type NotifyErrorCode =
  | 'HF_NOTIFY_UNKNOWN_KIND'
  | 'HF_NOTIFY_NOT_OPTIONAL'
  | 'HF_NOTIFY_UNSUBSCRIBE_INVALID'
  | 'HF_NOTIFY_TEMPLATE_DATA'
  | 'HF_NOTIFY_INVALID_FILTER'
  | 'HF_NOTIFY_NOTICE_NOT_FOUND'
  | 'HF_NOTIFY_NOTICE_TOO_LATE'
  | 'HF_NOTIFY_INVALID_OPTION';

/** Every code the package answers with (the README's errors table lists each). */
export const NOTIFY_ERROR_CODES = [
  'HF_NOTIFY_UNKNOWN_KIND',
  'HF_NOTIFY_NOT_OPTIONAL',
  'HF_NOTIFY_UNSUBSCRIBE_INVALID',
  'HF_NOTIFY_TEMPLATE_DATA',
  'HF_NOTIFY_INVALID_FILTER',
  'HF_NOTIFY_NOTICE_NOT_FOUND',
] as const satisfies readonly NotifyErrorCode[];
