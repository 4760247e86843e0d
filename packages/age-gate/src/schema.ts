import { index, integer, jsonb, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const ageGateSchema = pgSchema('age_gate');

/**
 * What the gate knows of a subject: that its age was verified (when, how, against which minimum),
 * or that it was restricted as a minor. Never the date of birth.
 */
export const subjects = ageGateSchema.table('subjects', {
  subjectId: text('subject_id').primaryKey(),
  verifiedAt: timestamp('verified_at', { withTimezone: true, mode: 'date' }),
  /** `self-declared` now; room for `document` or `third-party` later. */
  method: text('method'),
  minimumAge: integer('minimum_age'),
  restrictedAt: timestamp('restricted_at', { withTimezone: true, mode: 'date' }),
});

/** Erasure of a minor's data: a durable job, so a crash resumes it; its counts are the record. */
export const erasures = ageGateSchema.table(
  'erasures',
  {
    subjectId: text('subject_id').primaryKey(),
    reportedAt: timestamp('reported_at', { withTimezone: true, mode: 'date' }).notNull(),
    reportedBy: text('reported_by').notNull(),
    reason: text('reason').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** pending | running | done */
    status: text('status').notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true, mode: 'date' }),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
    counts: jsonb('counts').$type<Record<string, number>>(),
  },
  (t) => [index('erasures_due_idx').on(t.status, t.dueAt)],
);

/** Optional: a short-lived keyed hash of a refused client's IP (off by default). */
export const ipBlocks = ageGateSchema.table('ip_blocks', {
  ipHash: text('ip_hash').primaryKey(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
});
