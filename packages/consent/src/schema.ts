import { sql } from 'drizzle-orm';
import { index, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const consentSchema = pgSchema('consent');

/**
 * The consent ledger: one row per decision (proof of consent). Append-only, enforced by a trigger
 * (migrations 0001 to 0003): UPDATE is refused but the retention function's erasure of a row's IP
 * and user agent, DELETE allowed only inside consent.erase_subject and consent.purge_ledger.
 */
export const records = consentSchema.table(
  'records',
  {
    id: uuid('id').primaryKey(),
    consentId: text('consent_id').notNull(),
    subjectId: text('subject_id'),
    /** grant | refuse | withdraw | reaccept | gpc | continued-use */
    action: text('action').notNull(),
    /** user | gpc | continued-use */
    source: text('source').notNull(),
    policyVersion: text('policy_version').notNull(),
    categories: text('categories').array().notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('records_subject_idx').on(t.subjectId, t.createdAt),
    index('records_consent_idx').on(t.consentId, t.createdAt),
    // Continued use is acceptance recorded once per subject and version, across every replica.
    uniqueIndex('records_continued_use_once')
      .on(t.subjectId, t.policyVersion)
      .where(sql`action = 'continued-use'`),
    // Rows whose IP or user agent retention has yet to erase (migration 0003, class consent_ledger).
    index('records_personal_created_idx')
      .on(t.createdAt)
      .where(sql`ip IS NOT NULL OR user_agent IS NOT NULL`),
  ],
);
