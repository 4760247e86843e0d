import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgSchema, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const notify = pgSchema('notify');

/**
 * The outbox: one row per message to a person. `data` is the template's data, kept only until the
 * message is settled and the retention period ends (30 days, retention class `notify.outbox`);
 * never the rendered body. `dedupe_key` makes a notice exactly-once across replicas (a policy
 * notice per account and version). `erase_after_send`: the subject was erased while this notice
 * about the erasure was pending; it is deleted once it is settled.
 */
export const outbox = notify.table(
  'outbox',
  {
    id: uuid('id').primaryKey(),
    kind: text('kind').notNull(),
    accountId: text('account_id'),
    address: text('address'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    dedupeKey: text('dedupe_key'),
    status: text('status').$type<'pending' | 'sent' | 'failed' | 'suppressed'>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    settledAt: timestamp('settled_at', { withTimezone: true, mode: 'date' }),
    providerMessageId: text('provider_message_id'),
    lastError: text('last_error'),
    eraseAfterSend: boolean('erase_after_send').notNull().default(false),
  },
  (t) => [
    uniqueIndex('outbox_dedupe_idx').on(t.dedupeKey),
    index('outbox_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index('outbox_account_idx').on(t.accountId),
    index('outbox_status_idx').on(t.status, t.id),
  ],
);

/** Every attempt: when, the outcome, the SMTP reply code; never the server's reply text (it may quote the address). */
export const attempts = notify.table(
  'attempts',
  {
    id: uuid('id').primaryKey(),
    notificationId: uuid('notification_id').notNull(),
    attemptedAt: timestamp('attempted_at', { withTimezone: true, mode: 'date' }).notNull(),
    outcome: text('outcome').$type<'sent' | 'temporary' | 'permanent'>().notNull(),
    smtpCode: integer('smtp_code'),
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
  },
  (t) => [index('attempts_notification_idx').on(t.notificationId)],
);

/** Addresses a server refused for good (5xx): nothing more is sent to them until cleared. */
export const addresses = notify.table('addresses', {
  address: text('address').primaryKey(),
  status: text('status').$type<'bouncing'>().notNull(),
  smtpCode: integer('smtp_code'),
  since: timestamp('since', { withTimezone: true, mode: 'date' }).notNull(),
});

/** Per-account choices for optional kinds (quota warnings); no row: on. */
export const preferences = notify.table(
  'preferences',
  {
    accountId: text('account_id').notNull(),
    kind: text('kind').notNull(),
    enabled: boolean('enabled').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.kind] })],
);

/** Policy versions whose notices were queued (§11): when, to how many, so a restart neither repeats nor misses them. */
export const policyNotices = notify.table('policy_notices', {
  version: text('version').primaryKey(),
  effectiveAt: timestamp('effective_at', { withTimezone: true, mode: 'date' }).notNull(),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
  completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
  recipients: integer('recipients').notNull().default(0),
});

/**
 * The mailboxes read over IMAP (`MailboxReader`): one row per mailbox name. `holder`/`until` are
 * its reader's lease (one replica reads a mailbox at a time, @harakaflow/db's lease row);
 * `uid_validity` and `last_uid` the high-water mark: every message up to `last_uid` of that
 * UIDVALIDITY has been handed to the consumer. No message content is kept here.
 */
export const mailboxes = notify.table('mailboxes', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  until: timestamp('until', { withTimezone: true, mode: 'date' }).notNull(),
  /** UIDVALIDITY (a 32-bit unsigned number) as text; null until the mailbox is first opened. */
  uidValidity: text('uid_validity'),
  lastUid: bigint('last_uid', { mode: 'number' }).notNull().default(0),
  /** When a message was last handed over, and when the mailbox was last read without error. */
  lastMessageAt: timestamp('last_message_at', { withTimezone: true, mode: 'date' }),
  lastPollAt: timestamp('last_poll_at', { withTimezone: true, mode: 'date' }),
});
