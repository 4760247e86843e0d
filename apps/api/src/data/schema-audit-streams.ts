// Tables of audit streams to customers' SIEMs and the subject-bearing events they delivered (issue 33 item 5).
import { bigint, date, index, integer, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { app } from './schema-app.js';

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
