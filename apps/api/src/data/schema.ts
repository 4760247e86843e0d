import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  date,
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

/** The app's own tables live in schema `app` (ARCHITECTURE.md, contract item 4). */
export const app = pgSchema('app');

export const accounts = app.table(
  'accounts',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    businessName: text('business_name'),
    /** The quota plan (free, pro, business). */
    plan: text('plan').notNull().default('free'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /**
     * Set while a deletion request waits for its purge (policy §6, §4): the account's keys reach
     * only its privacy requests. Cleared when the request is canceled.
     */
    deletionPendingAt: timestamp('deletion_pending_at', { withTimezone: true, mode: 'date' }),
    /**
     * The address the account showed to be its own (a code sent to it, issue 30 item 6), and when.
     * The account's address is verified while `email` is this (any case): a changed address is not.
     */
    verifiedEmail: text('verified_email'),
    emailVerifiedAt: timestamp('email_verified_at', { withTimezone: true, mode: 'date' }),
  },
  // One account per address whatever its case: Alice@x.io and alice@x.io are one person.
  (t) => [uniqueIndex('accounts_email_key').on(sql`lower(${t.email})`)],
);

/**
 * The email verification of an account in progress (issue 30 item 6): when it was last asked for
 * (one message a minute at most), and the code last sent, as an HMAC under a key derived from
 * DATA_RIGHTS_SUBJECT_KEY (the code itself is only in the message), with its expiry and the tries
 * left. Deleted once the address is verified, and with the account.
 */
export const emailVerifications = app.table('email_verifications', {
  accountId: uuid('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  /** The address the code was sent to: it verifies that address only. */
  email: text('email').notNull(),
  codeHash: text('code_hash'),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  attempts: integer('attempts').notNull().default(0),
  requestedAt: timestamp('requested_at', { withTimezone: true, mode: 'date' }).notNull(),
});

/** API keys are kept only as SHA-256 digests: the key itself is shown once, at creation. */
export const apiKeys = app.table(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull(),
    /** The first characters of the key, to tell keys apart in a listing. Not enough to use it. */
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /** The last request it authenticated, to the minute (issue 30 item 11: GET /v1/keys). */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('api_keys_key_hash_key').on(t.keyHash), index('api_keys_account_id_idx').on(t.accountId)],
);

/**
 * Messages accepted by POST /v1/messages: who sent what to whom and when. The text itself is not
 * kept (the send is outside this kit); retention will purge this table.
 */
export const messageLog = app.table(
  'message_log',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id').notNull(),
    sessionId: text('session_id').notNull(),
    /** The recipient, E.164. */
    to: text('to').notNull(),
    /** Length of the text in characters. */
    chars: integer('chars').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('message_log_account_idx').on(t.accountId, t.createdAt), index('message_log_to_idx').on(t.to)],
);

/**
 * Service notifications to send to an account (policy §2: "rate limit warnings"): an outbox, written
 * when the event happens, sent by whatever channel the backend uses (email, WhatsApp, the dashboard).
 */
export const notifications = app.table(
  'notifications',
  {
    id: uuid('id').primaryKey(),
    /** Null: an operator notification (a privacy request due soon or overdue). */
    accountId: uuid('account_id'),
    kind: text('kind').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('notifications_unsent_idx')
      .on(t.createdAt)
      .where(sql`${t.sentAt} is null`),
    index('notifications_account_idx').on(t.accountId),
  ],
);

/**
 * Sessions of the privacy centre (`/privacy`): a person pastes their API key once and gets a
 * session cookie instead. Only the SHA-256 of the session token is kept; the CSRF token is derived
 * from the token itself (HMAC), so it is bound to the session and stored nowhere. Revoked at
 * sign-out and when the account's deletion is requested; gone with the account.
 */
export const sessions = app.table(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    /** Its last request, to the minute: 30 minutes idle end it (issue 30 item 11). */
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('sessions_token_hash_key').on(t.tokenHash), index('sessions_account_id_idx').on(t.accountId)],
);

/**
 * Idempotency keys of `POST /v1/messages` (the IETF Idempotency-Key draft): the first request with
 * a key from an account is carried out and its response kept for 24 hours; the same key again, with
 * the same body, answers that response and sends nothing. One row per (account, key): the primary
 * key makes "first" hold across replicas.
 */
export const idempotencyKeys = app.table(
  'idempotency_keys',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** SHA-256 of the request body: the same key with another body is refused (422). */
    fingerprint: text('fingerprint').notNull(),
    status: text('status').$type<'pending' | 'done'>().notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.key] }), index('idempotency_keys_created_at_idx').on(t.createdAt)],
);

/**
 * A rights request about a phone number (issue 32 item 3), made with the public form: the number
 * is proved to be the requester's by a code sent from it over WhatsApp to the service's privacy
 * number (the inbound Meta webhook matches it), then the request is passed to every account whose
 * data holds the number (`forwarded_requests`). `request_id` is the data-rights request the form
 * opened; `address` is where the person hears each step (kept here: that request's own address goes
 * once it is final). The code is kept as an HMAC, with its expiry (30 minutes).
 */
export const contactRequests = app.table(
  'contact_requests',
  {
    requestId: uuid('request_id').primaryKey(),
    /** The number, E.164. */
    phone: text('phone').notNull(),
    /** The requester's address; erased with the row. */
    address: text('address').notNull(),
    /** What is asked (a data-rights request kind). */
    kind: text('kind').notNull(),
    /** The language the person asked in (`en`, `sw`); null: English. */
    lang: text('lang'),
    codeHash: text('code_hash'),
    codeExpiresAt: timestamp('code_expires_at', { withTimezone: true, mode: 'date' }),
    /** When the number was proved (the code came from it): forwarded then. */
    provedAt: timestamp('proved_at', { withTimezone: true, mode: 'date' }),
    /** How many accounts it was passed to, once forwarded. */
    forwarded: integer('forwarded'),
    /** When the person was told how many (the message queued). */
    toldAt: timestamp('told_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('contact_requests_phone_idx')
      .on(t.phone)
      .where(sql`${t.provedAt} is null`),
    index('contact_requests_created_idx').on(t.createdAt),
  ],
);

/**
 * A contact's request passed to one account that holds the number (issue 32 item 3): it answers
 * through the API (fulfil with a note, deny with a reason, or erase: the service erases the
 * contact from the account's data and the receipt goes to the person) by its own due date; the
 * admin is alerted when it is due soon and when it is overdue, once each across replicas.
 */
export const forwardedRequests = app.table(
  'forwarded_requests',
  {
    id: uuid('id').primaryKey(),
    requestId: uuid('request_id')
      .notNull()
      .references(() => contactRequests.requestId, { onDelete: 'cascade' }),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    phone: text('phone').notNull(),
    kind: text('kind').notNull(),
    /** open | erasing | fulfilled | denied | erased */
    status: text('status').$type<'open' | 'erasing' | 'fulfilled' | 'denied' | 'erased'>().notNull(),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    answeredAt: timestamp('answered_at', { withTimezone: true, mode: 'date' }),
    /** The account's note (fulfilled) or reason (denied), relayed to the person as plain text. */
    note: text('note'),
    /** The account lets the person know its business name. */
    disclose: boolean('disclose').notNull().default(false),
    /** The data-rights deletion that erases the contact (erase), and its signed receipt once done. */
    erasureRequestId: uuid('erasure_request_id'),
    receipt: jsonb('receipt'),
    /** When the account's email was queued (its webhook is written with the row). */
    accountToldAt: timestamp('account_told_at', { withTimezone: true, mode: 'date' }),
    /** When the person's message about the outcome was queued. */
    personToldAt: timestamp('person_told_at', { withTimezone: true, mode: 'date' }),
    dueSoonAlertedAt: timestamp('due_soon_alerted_at', { withTimezone: true, mode: 'date' }),
    overdueAlertedAt: timestamp('overdue_alerted_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('forwarded_requests_request_account_key').on(t.requestId, t.accountId),
    index('forwarded_requests_account_idx').on(t.accountId, t.id),
    index('forwarded_requests_open_idx')
      .on(t.dueAt)
      .where(sql`${t.status} in ('open', 'erasing')`),
    index('forwarded_requests_erasure_idx').on(t.erasureRequestId),
  ],
);

/**
 * A stream of audit events to a customer's SIEM (issue 33 item 5): an account's (its own trail) or
 * the admin's (`account_id` null: every event). `cursor` is the last event delivered (events go in
 * id order, each POST advancing it only on a 2xx); `erasure_cursor` the last erasure record looked
 * at for deletion records. The row is its own outbox claim (`next_attempt_at`, `attempts`: claimed
 * with FOR UPDATE SKIP LOCKED and a lease). No foreign key to the account: an erased account's
 * stream stays `ending` until its deletion records are delivered. The secret is in the vault.
 */
export const auditStreams = app.table(
  'audit_streams',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id'),
    url: text('url').notNull(),
    format: text('format').$type<'ocsf' | 'ecs'>().notNull(),
    /** active | ending (its account was erased: deletion records only, then the row goes) */
    status: text('status').$type<'active' | 'ending'>().notNull().default('active'),
    cursor: uuid('cursor').notNull(),
    erasureCursor: uuid('erasure_cursor').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    delivered: bigint('delivered', { mode: 'number' }).notNull().default(0),
    lastDeliveryAt: timestamp('last_delivery_at', { withTimezone: true, mode: 'date' }),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
    /** The last failed attempt's HTTP status, or its error code when there was no answer. */
    lastErrorStatus: integer('last_error_status'),
    lastErrorCode: text('last_error_code'),
    failingSince: timestamp('failing_since', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    endingAt: timestamp('ending_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [index('audit_streams_account_idx').on(t.accountId), index('audit_streams_due_idx').on(t.nextAttemptAt)],
);

/**
 * The events a stream delivered that carried a subject (only those can be erased later): what a
 * deletion record names once their subject is erased. Pruned with the server-log period (the
 * events themselves are gone then) and as deletion records are delivered.
 */
export const auditStreamSent = app.table(
  'audit_stream_sent',
  {
    streamId: uuid('stream_id').notNull(),
    eventId: uuid('event_id').notNull(),
    /** The event's day partition (the join to `audit.events` reads one partition). */
    day: date('day', { mode: 'string' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.eventId] })],
);
