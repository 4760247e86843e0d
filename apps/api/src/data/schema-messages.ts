// Tables of messaging: the message log, the notification outbox, idempotency keys of POST /v1/messages.
import { sql } from 'drizzle-orm';
import { index, integer, jsonb, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { accounts } from './schema-accounts.js';
import { app } from './schema-app.js';

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
