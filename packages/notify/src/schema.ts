import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const notify = pgSchema('notify');

/**
 * The outbox: one row per message to a person. `data` is the template's data, kept only until the
 * message is settled and the retention period ends (30 days, retention class `notify.outbox`);
 * never the rendered body. `dedupe_key` makes a notice exactly-once across replicas (a policy
 * notice per account and version). `erase_after_send`: the subject was erased while this notice
 * about the erasure was pending; it is deleted once it is settled. `lang`: the language it is
 * written in, chosen when it is queued (null: English).
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
    /**
     * The language it is written in (issue 32 item 7), chosen when queued; null (rows of earlier versions too):
     * English.
     */
    lang: text('lang'),
  },
  (t) => [
    uniqueIndex('outbox_dedupe_idx').on(t.dedupeKey),
    index('outbox_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending'`),
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

/**
 * Addresses a server refused for good (a 5xx at send time, or a DSN that came back later with a
 * 5.x.x status: `bouncing`), or whose owner reported a message as abuse (an ARF report:
 * `complained`). Optional kinds are not sent to them until cleared; required ones still are.
 */
export const addresses = notify.table('addresses', {
  address: text('address').primaryKey(),
  status: text('status').$type<'bouncing' | 'complained'>().notNull(),
  smtpCode: integer('smtp_code'),
  since: timestamp('since', { withTimezone: true, mode: 'date' }).notNull(),
  /** The DSN's status code (`5.1.1`) when a report marked it; never the diagnostic text. */
  dsnStatus: text('dsn_status'),
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

/** What became of a message after the relay (issue 34 item 4). */
export type DeliveryOutcome = 'accepted' | 'delayed' | 'delivered' | 'bounced' | 'complained';

/**
 * One row per message handed to the relay: accepted (or refused for good at once), then what the
 * reports read from the bounce mailbox said: delayed, delivered, bounced (the DSN's status code,
 * `5.1.1`, or the SMTP reply code of a refusal), complained (the ARF feedback type). Never the
 * diagnostic text, which may quote the address. A legal notice to an account that bounced or drew a
 * complaint is also a notice shown to the account (`notice_reason`), until it acknowledges it. Rows
 * of legal notices to an account are the account's record of the notices it was given (its export
 * lists them) and stay while the account does; the others go with their outbox row.
 */
export const deliveries = notify.table(
  'deliveries',
  {
    notificationId: uuid('notification_id').primaryKey(),
    accountId: text('account_id'),
    kind: text('kind').notNull(),
    /** The subject as sent (one line, no body). */
    subject: text('subject').notNull(),
    /** When the message was queued. */
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** When the relay accepted it (null: refused at once). */
    acceptedAt: timestamp('accepted_at', { withTimezone: true, mode: 'date' }),
    outcome: text('outcome').$type<DeliveryOutcome>().notNull(),
    /** When the outcome was learnt (the report's arrival, or the send). */
    outcomeAt: timestamp('outcome_at', { withTimezone: true, mode: 'date' }).notNull(),
    dsnStatus: text('dsn_status'),
    smtpCode: integer('smtp_code'),
    feedbackType: text('feedback_type'),
    /** Set when a legal notice to an account did not reach it: the account is shown the notice. */
    noticeReason: text('notice_reason').$type<'bounced' | 'complained'>(),
    /** First returned by the API (`GET /v1/me`). */
    shownAt: timestamp('shown_at', { withTimezone: true, mode: 'date' }),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('deliveries_account_idx').on(t.accountId),
    index('deliveries_open_notices_idx')
      .on(t.accountId)
      .where(sql`${t.noticeReason} is not null and ${t.acknowledgedAt} is null`),
  ],
);

/**
 * Reports read from the bounce mailbox that changed something, by the report's own Message-ID
 * (else a digest of its bytes): the same report read twice does nothing the second time. Kept as
 * long as the outbox keeps settled rows (30 days).
 */
export const reports = notify.table(
  'reports',
  {
    key: text('key').primaryKey(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'date' }).notNull(),
    type: text('type').$type<'dsn' | 'arf'>().notNull(),
    outcome: text('outcome').$type<DeliveryOutcome>().notNull(),
    notificationId: uuid('notification_id').notNull(),
    /**
     * How the report named the message: its Message-ID (or the kit's id header) in the returned original, or only its
     * recipient.
     */
    matchedBy: text('matched_by').$type<'message-id' | 'recipient'>().notNull(),
  },
  (t) => [index('reports_notification_idx').on(t.notificationId), index('reports_received_idx').on(t.receivedAt)],
);
