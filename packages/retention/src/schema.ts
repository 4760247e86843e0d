import { sql } from 'drizzle-orm';
import { index, integer, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const retention = pgSchema('retention');

/** Legal holds (§4): a subject's rows, or a whole class, kept past their period until released. */
export const holds = retention.table(
  'holds',
  {
    id: uuid('id').primaryKey(),
    subjectId: text('subject_id'),
    className: text('class'),
    reason: text('reason').notNull(),
    until: timestamp('until', { withTimezone: true, mode: 'date' }),
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    releasedBy: text('released_by'),
    releasedAt: timestamp('released_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('holds_active_idx')
      .on(t.className)
      .where(sql`released_at is null`),
  ],
);

/** One row: who runs retention now, until when (a lease renewed after every batch). */
export const lease = retention.table('lease', {
  id: integer('id').primaryKey(),
  holder: text('holder').notNull(),
  until: timestamp('until', { withTimezone: true, mode: 'date' }).notNull(),
});

/** Each run, and each class within it: what it removed, so a killed run is picked up where it stopped. */
export const runs = retention.table('runs', {
  id: uuid('id').primaryKey(),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
  finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
  dryRun: integer('dry_run').notNull().default(0),
  status: text('status').$type<'running' | 'done' | 'failed'>().notNull(),
});

export const classRuns = retention.table(
  'class_runs',
  {
    runId: uuid('run_id').notNull(),
    className: text('class').notNull(),
    cutoff: timestamp('cutoff', { withTimezone: true, mode: 'date' }).notNull(),
    rows: integer('rows').notNull().default(0),
    partitions: integer('partitions').notNull().default(0),
    status: text('status').$type<'running' | 'done' | 'failed' | 'held' | 'skipped'>().notNull(),
    error: text('error'),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.className] })],
);
