import { checkDatabaseOption } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyContextConfig } from 'fastify';
import { invalidOption } from './errors.js';
import type { Announcement } from './policy-notices.js';
import type { Notifier } from './service.js';
import type { PolicyVersion, Recipient } from './types.js';
import type { DkimOptions, Transport } from './transport.js';

export interface NotifyOptions {
  db: Database;
  /** `smtp://user:pass@host:587` or `smtps://...`: send through it. Unset: `.eml` files in `outboxDir`. */
  smtpUrl?: string | undefined;
  /** Where `.eml` files go without `smtpUrl`. */
  outboxDir?: string | undefined;
  /** A transport of your own (tests, another provider); wins over `smtpUrl`. */
  transport?: Transport | undefined;
  /** The From address: `HarakaFlow <no-reply@harakaflow.com>`. Required. */
  from: string;
  /** DKIM signing; `domainName` defaults to the domain of `from`. */
  dkim?: (Omit<DkimOptions, 'domainName'> & { domainName?: string | undefined }) | undefined;
  /** The API's public base URL, for links in messages: `https://api.harakaflow.com`. Required. */
  publicUrl: string;
  /** HMAC secrets of unsubscribe links (at least 32 characters each): the first signs, all verify. Required. */
  unsubscribeSecrets: string[];
  /**
   * The privacy team's address, signing every message that signs off. Default `privacy@harakaflow.io` (the policy's).
   */
  privacyContact?: string | undefined;
  /**
   * The Reply-To of every message: an email address (the app: PRIVACY_CONTACT, so an answer reaches the privacy
   * mailbox). Unset: none.
   */
  replyTo?: string | undefined;
  recipientOf?: ((accountId: string) => Promise<Recipient | null>) | undefined;
  enrich?: ConstructorParameters<typeof Notifier>[0]['enrich'];
  /** Is this the account's verified address (asked at send time)? Unset: every address is. */
  addressVerified?: ConstructorParameters<typeof Notifier>[0]['addressVerified'];
  /** The dispatcher loop: `false` for none here. Default { intervalMs: 1000, batch: 20 }. */
  dispatch?: false | { intervalMs?: number; batch?: number } | undefined;
  /** Delays after each temporary failure, ms (jitter added). Default NOTIFY_RETRY_SCHEDULE_MS. */
  retrySchedule?: readonly number[] | undefined;
  /** §11 notices: the policy's versions, who to tell (paged by account id), the policy's URL. */
  policies?:
    | {
        versions: readonly PolicyVersion[];
        recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>;
        policyUrl: string;
        checkIntervalMs?: number;
      }
    | undefined;
  /**
   * Other changes every account is told of before they take effect (a change of the processor
   * register): the list is read at startup and every `checkIntervalMs` (default an hour); each
   * announcement is queued once per account (see `Announcement`); one that can no longer be
   * announced in time stops the startup.
   */
  announcements?:
    | {
        list: () => readonly Announcement[];
        recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>;
        checkIntervalMs?: number;
      }
    | undefined;
  /**
   * The unsubscribe routes: `false` for none. Default { prefix: '/v1/notifications' }; `config` goes on both routes.
   */
  routes?: false | { prefix?: string; config?: FastifyContextConfig } | undefined;
  /**
   * Settled notifications (sent, failed, suppressed) are deleted after this many days, checked hourly. Default 30;
   * `false`: never here (a retention runner does it).
   */
  keepSettledDays?: number | false | undefined;
  /**
   * A report from the bounce mailbox that returns no message counts for the last message sent to
   * the recipient it names within this many days; 0: only reports naming a message (its
   * Message-ID or `X-HarakaFlow-Notification-Id`) count. Default 7.
   */
  reportRecipientDays?: number | undefined;
  now?: (() => number) | undefined;
}

const SMTP_URL = /^smtps?:\/\/[^\s]+$/;

/** The options checked (HF_NOTIFY_INVALID_OPTION naming the option; a URL with credentials is never quoted). */
export function resolveOptions(options: NotifyOptions): {
  db: Database;
  keepDays: number | false;
  schedule: readonly number[] | undefined;
} {
  const db = checkDatabaseOption(options.db, invalidOption);
  if (typeof options.from !== 'string' || !/@[^@\s>]+>?\s*$/.test(options.from))
    throw invalidOption('from', 'must be an address, e.g. "HarakaFlow <no-reply@harakaflow.com>"');
  if (typeof options.publicUrl !== 'string' || !/^https?:\/\/[^\s/]+/.test(options.publicUrl))
    throw invalidOption('publicUrl', 'must be an http(s) URL');
  if (
    !Array.isArray(options.unsubscribeSecrets) ||
    !options.unsubscribeSecrets.length ||
    options.unsubscribeSecrets.some((s) => typeof s !== 'string' || s.length < 32)
  ) {
    throw invalidOption(
      'unsubscribeSecrets',
      'must be a list of secrets of at least 32 characters each (the first signs)',
    );
  }
  if (
    options.privacyContact !== undefined &&
    (typeof options.privacyContact !== 'string' ||
      !/^[^\s@<>"]+@[^\s@<>"]+\.[A-Za-z]{2,}$/.test(options.privacyContact))
  ) {
    throw invalidOption('privacyContact', 'must be an email address such as privacy@harakaflow.io');
  }
  if (
    options.replyTo !== undefined &&
    (typeof options.replyTo !== 'string' || !/^[^\s@<>"]+@[^\s@<>"]+\.[A-Za-z]{2,}$/.test(options.replyTo))
  ) {
    throw invalidOption('replyTo', 'must be an email address such as privacy@harakaflow.io');
  }
  // The URL is checked for its form only: never quoted, it holds the credentials.
  if (options.smtpUrl !== undefined && (typeof options.smtpUrl !== 'string' || !SMTP_URL.test(options.smtpUrl)))
    throw invalidOption('smtpUrl', 'must be an smtp:// or smtps:// URL');
  if (!options.transport && !options.smtpUrl && typeof options.outboxDir !== 'string')
    throw invalidOption('outboxDir', 'is required without smtpUrl or transport (where .eml files are written)');
  const keepDays = options.keepSettledDays ?? 30;
  if (keepDays !== false && (!Number.isInteger(keepDays) || keepDays < 1))
    throw invalidOption('keepSettledDays', 'must be a whole number of days, or false');
  if (
    options.reportRecipientDays !== undefined &&
    (!Number.isInteger(options.reportRecipientDays) ||
      options.reportRecipientDays < 0 ||
      options.reportRecipientDays > 30)
  ) {
    throw invalidOption(
      'reportRecipientDays',
      'must be a whole number of days from 0 (only reports that name the message) to 30',
    );
  }
  const schedule = options.retrySchedule;
  if (schedule !== undefined && (!Array.isArray(schedule) || schedule.some((d) => !Number.isInteger(d) || d < 0)))
    throw invalidOption('retrySchedule', 'must be a list of delays in ms');
  return { db, keepDays, schedule };
}
