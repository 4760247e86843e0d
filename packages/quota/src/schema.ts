import { date, integer, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const quotaSchema = pgSchema('quota');

/** rate-limiter-flexible's Drizzle store: one row per limiter key (points used, window end). */
export const rateLimits = quotaSchema.table('rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull(),
  expire: timestamp('expire', { withTimezone: true, mode: 'date' }),
});

/** Per-account daily usage, per metric (requests, messages). */
export const usageDaily = quotaSchema.table(
  'usage_daily',
  {
    accountId: text('account_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    metric: text('metric').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day, t.metric] })],
);

/** Warnings already sent: one per (subject, quota, threshold, period), whichever replica saw it first. */
export const warningsSent = quotaSchema.table(
  'warnings',
  {
    subject: text('subject').notNull(),
    quota: text('quota').notNull(),
    threshold: integer('threshold').notNull(),
    periodEnd: timestamp('period_end', { withTimezone: true, mode: 'date' }).notNull(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.subject, t.quota, t.threshold, t.periodEnd] })],
);
