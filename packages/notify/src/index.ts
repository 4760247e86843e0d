import './fastify.js';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '@harakaflow/db';
import plugin from './plugin.js';

/** The package's migrations (schema `notify`), for `@harakaflow/db`'s migrate. */
export const notifyMigrations: MigrationSet = {
  name: 'notify',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export default fp(plugin, { name: '@harakaflow/notify', fastify: '5.x' });
export type { NotifyOptions } from './options.js';
export {
  KEEP_UNTIL_SENT,
  NOTICE_DAYS,
  Notifier,
  NOTIFY_RETRY_SCHEDULE_MS,
  WAITING_FOR_VERIFICATION,
} from './service.js';
export type {
  Announcement,
  EnqueueInput,
  NotificationStatus,
  NotificationView,
  NotifierConfig,
  PolicyVersion,
  Recipient,
} from './service.js';
export { LEGACY_UNSUBSCRIBE_LINKS_UNTIL, UNSUBSCRIBE_LINK_DAYS } from './service.js';
export { DEFAULT_PRIVACY_CONTACT } from './templates.js';
export { escapeHtml, KINDS, NO_BUSINESS_NAME, NO_NAME, oneLine, render, unverifiedWaitMs } from './templates.js';
export {
  CATALOGUES,
  DEFAULT_LANGUAGE,
  isLanguage,
  LANGUAGES,
  languageOf,
  negotiateLanguage,
  parseAcceptLanguage,
  placeholdersOf,
  preferredLanguage,
} from './languages.js';
export type { Catalogue, Language, MessageKey } from './languages.js';
export type { Block, Category, KindSpec, Rendered, Template, Unverified } from './templates.js';
export { classify, fileTransport, smtpTransport } from './transport.js';
export type { DkimOptions, OutgoingMessage, SendOutcome, Transport } from './transport.js';
export { NoticeNotFound, NOTIFY_ERROR_CODES, noticeTooLate } from './errors.js';
export { COMPLAINT_TYPES } from './bounces.js';
export type { BounceResult } from './bounces.js';
export type { AccountNotice } from './deliveries.js';
export { parseReport } from './reports.js';
export type { DeliveryReport, DsnAction, DsnRecipient, ReturnedMessage } from './reports.js';
export * as notifySchema from './schema.js';
export { describeImapUrl, MailboxReader } from './mailbox.js';
export type { ImapUrlParts, MailboxMessage, MailboxReaderOptions, RoundResult } from './mailbox.js';
export { isAddress, readInbound } from './inbound.js';
export type { InboundSummary } from './inbound.js';
