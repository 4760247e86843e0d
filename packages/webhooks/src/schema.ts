import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const webhooksSchema = pgSchema('webhooks');

/** Customer endpoints. Secrets are not here: they live in the secret store (the credential vault). */
export const endpoints = webhooksSchema.table(
  'endpoints',
  {
    id: uuid('id').primaryKey(),
    accountId: text('account_id').notNull(),
    url: text('url').notNull(),
    events: jsonb('events').$type<string[]>().notNull(),
    status: text('status').notNull().default('active'),
    disabledReason: text('disabled_reason'),
    /** Until when the previous secret still signs (the overlap after a rotation). */
    previousSecretUntil: timestamp('previous_secret_until', { withTimezone: true, mode: 'date' }),
    /**
     * Since when every attempt has failed (null: the last one succeeded); past `disableAfterDays` the endpoint is
     * disabled.
     */
    failingSince: timestamp('failing_since', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('endpoints_account_idx').on(t.accountId)],
);

/**
 * The outbox: one row per (event, endpoint). Status `pending` (waiting or being sent), `delivered`,
 * `failed` (every retry used), `held` (its endpoint is disabled: kept, sent once it is enabled
 * again), `cancelled` (its endpoint was deleted).
 */
export const deliveries = webhooksSchema.table(
  'deliveries',
  {
    id: uuid('id').primaryKey(),
    endpointId: uuid('endpoint_id').notNull(),
    accountId: text('account_id').notNull(),
    eventType: text('event_type').notNull(),
    /** The exact bytes that are signed and sent. */
    payload: text('payload').notNull(),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull(),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending'`),
    // The metrics count the deliveries given up at every scrape: without a table scan.
    index('deliveries_failed_idx')
      .on(t.createdAt)
      .where(sql`${t.status} = 'failed'`),
    index('deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
    index('deliveries_account_idx').on(t.accountId),
    // Enabling an endpoint releases its held deliveries; the metrics count them at every scrape.
    index('deliveries_held_idx')
      .on(t.endpointId)
      .where(sql`${t.status} = 'held'`),
  ],
);

/** Every attempt of every delivery. */
export const attempts = webhooksSchema.table(
  'attempts',
  {
    id: uuid('id').primaryKey(),
    deliveryId: uuid('delivery_id').notNull(),
    attemptedAt: timestamp('attempted_at', { withTimezone: true, mode: 'date' }).notNull(),
    statusCode: integer('status_code'),
    /** An error code (ETIMEDOUT, HF_WEBHOOK_DESTINATION_REFUSED...), never a message or a body. */
    error: text('error'),
    durationMs: integer('duration_ms').notNull(),
    /**
     * At most 1 KiB of the endpoint's answer, as text, with the request's signatures and secrets removed; never a
     * header.
     */
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [index('attempts_delivery_idx').on(t.deliveryId, t.attemptedAt)],
);

/** Inbound deliveries already processed (replay protection on Postgres). */
export const seen = webhooksSchema.table('seen', {
  key: text('key').primaryKey(),
  state: text('state').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
});
