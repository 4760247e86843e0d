import { sql } from 'drizzle-orm';
import { bigint, boolean, date, doublePrecision, index, integer, jsonb, pgSchema, primaryKey, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const auditSchema = pgSchema('audit');

/**
 * One row per event. Chain position: (writer, day, seq), which the id also orders. `personal_digest` stands for subject id,
 * IP and user agent in the hash chain, so erasing them (which also drops `personal_salt`) keeps
 * the chain verifiable.
 */
const eventColumns = {
    id: uuid('id').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    writer: text('writer').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    seq: integer('seq').notNull(),
    kind: text('kind').notNull(),
    action: text('action').notNull(),
    resource: text('resource'),
    outcome: text('outcome'),
    requestId: text('request_id'),
    method: text('method'),
    route: text('route'),
    path: text('path'),
    status: smallint('status'),
    durationMs: doublePrecision('duration_ms'),
    subjectId: text('subject_id'),
    ip: text('ip'),
    ipInvalid: boolean('ip_invalid').notNull().default(false),
    userAgent: text('user_agent'),
    browserName: text('browser_name'),
    browserVersion: text('browser_version'),
    osName: text('os_name'),
    osVersion: text('os_version'),
    deviceType: text('device_type'),
    details: jsonb('details'),
    personalSalt: text('personal_salt'),
    personalDigest: text('personal_digest').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    erasedAt: timestamp('erased_at', { withTimezone: true, mode: 'date' }),
    // Added by issue 12 (nullable or defaulted, so replicas of the earlier version keep writing):
    // the chain format (rows written before carry 1), and the erasure that emptied the row.
    chainVersion: smallint('chain_version').notNull().default(1),
    erasedBy: text('erased_by'),
};

/**
 * Partitioned by range of `day` (one partition per UTC day, `audit.events_YYYYMMDD`) by the
 * hand-written migration 0002, so server-log retention drops a whole day in one statement: the
 * primary key therefore includes the partition column. A database that held events before 0002
 * keeps the earlier, unpartitioned layout (primary key `id`) until an operator runs
 * `hf-audit migrate-partitions`; every query here works on both.
 */
export const events = auditSchema.table(
  'events',
  eventColumns,
  (t) => [
    primaryKey({ columns: [t.id, t.day] }),
    // Ids are UUIDv7 carrying occurred_at's millisecond and made in chain order by each writer: the
    // primary key is also the time index and the chain order. Access events (the bulk) touch one
    // more index only when they have a subject; security events are few and indexed by action.
    index('events_subject_idx').on(t.subjectId, t.id).where(sql`${t.subjectId} is not null`),
    index('events_security_action_idx').on(t.action, t.id).where(sql`${t.kind} = 'security'`),
  ],
);

/**
 * The signed end of each chain segment (writer, UTC day): count and last hash, with an HMAC that
 * only holders of the checkpoint key can make. Updated with every batch; `closed` once the day or
 * the writer ended. Kept apart from the events so a rewrite of the events table is detected.
 */
export const checkpoints = auditSchema.table(
  'checkpoints',
  {
    writer: text('writer').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    count: integer('count').notNull(),
    lastHash: text('last_hash').notNull(),
    closed: boolean('closed').notNull().default(false),
    mac: text('mac').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.writer, t.day] })],
);

/**
 * Copies of held subjects' events, made before their day's partition is dropped (a legal hold
 * keeps them past the period). Each row keeps its own hash, which verify checks; its links went
 * with the day.
 */
export const heldEvents = auditSchema.table(
  'held_events',
  { ...eventColumns, id: uuid('id').primaryKey(), heldAt: timestamp('held_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow() },
  (t) => [index('held_events_subject_idx').on(t.subjectId, t.id)],
);

/**
 * The retention horizon: every day before `day` was purged on purpose (server-log retention), so
 * verify anchors each writer's chain at its last checkpoint before it instead of its genesis.
 * HMAC-signed with the checkpoint key, so nobody without the key can move it to hide a deletion.
 */
export const horizon = auditSchema.table('horizon', {
  id: boolean('id').primaryKey().default(true),
  day: date('day', { mode: 'string' }).notNull(),
  mac: text('mac').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** Progress of `hf-audit migrate-partitions` (copying an unpartitioned log into day partitions). */
export const partitionMigration = auditSchema.table('partition_migration', {
  id: boolean('id').primaryKey().default(true),
  lastId: uuid('last_id'),
  copied: bigint('copied', { mode: 'number' }).notNull().default(0),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'date' }),
});
