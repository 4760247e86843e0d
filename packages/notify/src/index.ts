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

export const harakaflowNotify = fp(plugin, { name: '@harakaflow/notify', fastify: '5.x' });
export default harakaflowNotify;
export type { NotifyOptions } from './options.js';
// The decoration (`fastify.notify`), usable without Fastify too (`new Notifier(config)`), and its shapes.
export { Notifier } from './service.js';
export type {
  EnqueueInput,
  NotificationStatus,
  NotificationView,
  NotifierConfig,
  PolicyVersion,
  Recipient,
} from './types.js';
export type { Announcement } from './policy-notices.js';
export type { AccountNotice } from './deliveries.js';
export type { BounceResult } from './bounces.js';
export { LEGACY_UNSUBSCRIBE_LINKS_UNTIL, UNSUBSCRIBE_LINK_DAYS } from './unsubscribe-links.js';
// Kinds and their messages (README, "Kinds, subjects and bodies" and "Languages").
export { KINDS } from './kinds.js';
export { DEFAULT_PRIVACY_CONTACT, NO_BUSINESS_NAME, NO_NAME } from './template-types.js';
export type { Block, Category, KindSpec, Template, Unverified } from './template-types.js';
export { oneLine, render } from './templates.js';
export type { Rendered } from './templates.js';
export { CATALOGUES, LANGUAGES, negotiateLanguage, preferredLanguage } from './languages.js';
export type { Catalogue, Language, MessageKey } from './languages.js';
// Transports, bounce reports and mailboxes (README, "How it works" and "Reading a mailbox").
export { classify, fileTransport, smtpTransport } from './transport.js';
export type { DkimOptions, OutgoingMessage, SendOutcome, Transport } from './transport.js';
export { parseReport } from './reports.js';
export type { DeliveryReport, DsnAction, DsnRecipient, ReturnedMessage } from './reports.js';
export { MailboxReader } from './mailbox.js';
export type { MailboxMessage, MailboxReaderOptions, RoundResult } from './mailbox.js';
export { describeImapUrl, type ImapUrlParts } from './imap-url.js';
export { readInbound } from './inbound.js';
export type { InboundSummary } from './inbound.js';
export {
  BadUnsubscribeLink,
  InvalidFilter,
  invalidOption,
  NoticeNotFound,
  NoticeTooLate,
  noticeTooLate,
  NotOptional,
  NOTIFY_ERROR_CODES,
  TemplateData,
  UnknownKind,
  type NotifyErrorCode,
} from './errors.js';
