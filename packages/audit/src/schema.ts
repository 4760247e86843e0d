import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgSchema,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** bytea (format 3's hashes, digests and salts): a Buffer from either driver (PGlite gives a Uint8Array). */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
});

export const auditSchema = pgSchema('audit');

/**
 * One row per event. Chain position: (writer, day, seq), which the id also orders. `personal_digest` stands for subject
 * id,
 * IP and user agent in the hash chain, so erasing them (which also drops `personal_salt`) keeps
 * the chain verifiable.
 *
 * Format 3 (issue 29, migration 0003) writes a lean row: `writer`, `kind`, `action`, `method`,
 * `route`, `user_agent` and the parsed browser/OS/device columns stay NULL (the writer, the route
 * with its method, and the user agent are interned: `writer_id`, `route_id`, `user_agent_id`; an
 * access event's kind and action are implied by a NULL `kind`), the hash and salt are bytea, the
 * personal digest is stored only once it cannot be recomputed (at erasure), and `prev_hash` only on
 * a segment's first event (`prev_hash_bytes`): verify takes every other link from the row before.
 */
const eventColumns = {
  id: uuid('id').notNull(),
  occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
  // NULL in format-3 rows (writer_id); NOT NULL relaxed by 0003.
  writer: text('writer'),
  day: date('day', { mode: 'string' }).notNull(),
  seq: integer('seq').notNull(),
  // NULL in format-3 access events (`access`, `http.request`); NOT NULL relaxed by 0003.
  kind: text('kind'),
  action: text('action'),
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
  // Formats 1 and 2 (hex and base64 text); NULL in format 3, NOT NULL relaxed by 0003.
  personalDigest: text('personal_digest'),
  prevHash: text('prev_hash'),
  hash: text('hash'),
  erasedAt: timestamp('erased_at', { withTimezone: true, mode: 'date' }),
  // Added by issue 12 (nullable or defaulted, so replicas of the earlier version keep writing):
  // the chain format (rows written before carry 1), and the erasure that emptied the row.
  chainVersion: smallint('chain_version').notNull().default(1),
  erasedBy: text('erased_by'),
  // Added by issue 29 (format 3; nullable, so replicas of the earlier version keep writing):
  hashBytes: bytea('hash_bytes'),
  personalDigestBytes: bytea('personal_digest_bytes'),
  personalSaltBytes: bytea('personal_salt_bytes'),
  prevHashBytes: bytea('prev_hash_bytes'),
  userAgentId: integer('user_agent_id'),
  routeId: integer('route_id'),
  writerId: integer('writer_id'),
};

/**
 * Partitioned by range of `day` (one partition per UTC day, `audit.events_YYYYMMDD`) by the
 * hand-written migration 0002, so server-log retention drops a whole day in one statement: the
 * primary key therefore includes the partition column. A database that held events before 0002
 * keeps the earlier, unpartitioned layout (primary key `id`) until an operator runs
 * `hf-audit migrate-partitions`; every query here works on both.
 */
export const events = auditSchema.table('events', eventColumns, (t) => [
  primaryKey({ columns: [t.id, t.day] }),
  // Ids are UUIDv7 carrying occurred_at's millisecond and made in chain order by each writer: the
  // primary key is also the time index and the chain order. Access events (the bulk) touch one
  // more index only when they have a subject; security events are few and indexed by action.
  index('events_subject_idx')
    .on(t.subjectId, t.id)
    .where(sql`${t.subjectId} is not null`),
  index('events_security_action_idx')
    .on(t.action, t.id)
    .where(sql`${t.kind} = 'security'`),
]);

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
 * with the day. Written only by the database's retention functions (migration 0004: the app role
 * reads them and nothing else), which read the holds themselves.
 */
export const heldEvents = auditSchema.table(
  'held_events',
  {
    ...eventColumns,
    id: uuid('id').primaryKey(),
    heldAt: timestamp('held_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('held_events_subject_idx').on(t.subjectId, t.id),
    index('held_events_user_agent_idx')
      .on(t.userAgentId)
      .where(sql`${t.userAgentId} is not null`),
    index('held_events_day_idx').on(t.day, t.id),
  ],
);

/**
 * The record of each dropped day's held copies (issue 30 item 1): how many, and a SHA-256 over
 * their ids and hashes (`id " " hash` lines in id order, copies since released included), computed
 * by the function that dropped the day, in its transaction, and signed there by the retention
 * runner with the checkpoint key (`mac`). Verify checks the copies against it: a copy deleted or
 * rewritten without the key is reported. The app role may set `mac` only.
 */
export const heldDays = auditSchema.table('held_days', {
  day: date('day', { mode: 'string' }).primaryKey(),
  count: bigint('count', { mode: 'number' }).notNull(),
  idsSha256: text('ids_sha256').notNull(),
  mac: text('mac'),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * Held copies that went because their holds were released: the id, day and hash each had (no
 * personal data), and the release (`audit.held.released`, a chained event) that let it go. Verify
 * counts them with the day's copies against the day's record.
 */
export const heldReleased = auditSchema.table(
  'held_released',
  {
    id: uuid('id').primaryKey(),
    day: date('day', { mode: 'string' }).notNull(),
    hash: text('hash').notNull(),
    releaseId: uuid('release_id').notNull(),
    releasedAt: timestamp('released_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('held_released_day_idx').on(t.day, t.id)],
);

/**
 * Interned user agents (format 3): the string once, with what bowser parsed from it. Events keep
 * `user_agent_id`; the personal digest still covers the string. `last_seen` is the last UTC day a
 * writer looked the row up (writers cache ids for the day they looked them up): retention deletes
 * a row only when no event and no held copy references it and no writer can still hold its id.
 */
export const userAgents = auditSchema.table(
  'user_agents',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    userAgent: text('user_agent').notNull(),
    browserName: text('browser_name'),
    browserVersion: text('browser_version'),
    osName: text('os_name'),
    osVersion: text('os_version'),
    deviceType: text('device_type'),
    firstSeen: timestamp('first_seen', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastSeen: date('last_seen', { mode: 'string' })
      .notNull()
      .default(sql`(now() at time zone 'utc')::date`),
  },
  (t) => [uniqueIndex('user_agents_user_agent_key').on(t.userAgent)],
);

/**
 * How many events of each day and writer reference a user agent: written in the same transaction
 * as the events, decremented by erasure, and dropped with the day by retention, so retention knows
 * which user agents nothing references without an index on the events.
 */
export const userAgentRefs = auditSchema.table(
  'user_agent_refs',
  {
    userAgentId: integer('user_agent_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    writerId: integer('writer_id').notNull(),
    events: bigint('events', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.userAgentId, t.day, t.writerId] })],
);

/** Interned (method, route pattern) pairs of format-3 events ('' stands for NULL). */
export const routes = auditSchema.table(
  'routes',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    method: text('method').notNull(),
    route: text('route').notNull(),
    firstSeen: timestamp('first_seen', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('routes_method_route_key').on(t.method, t.route)],
);

/** Interned writer names of format-3 events (checkpoints keep the name). */
export const writers = auditSchema.table(
  'writers',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    firstSeen: timestamp('first_seen', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('writers_name_key').on(t.name)],
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

/**
 * Tombstones of erased subjects (issue 30 item 5, migration 0005): a keyed hash of the subject id
 * (HMAC-SHA256 under a key derived from each checkpoint key; never the id) and when it was
 * written. Writers insert erased the subject's events that occurred before it (tombstones.ts).
 * Purged after the longest a buffered event can wait (`audit.purge_subject_tombstones`).
 */
export const subjectTombstones = auditSchema.table('subject_tombstones', {
  key: bytea('key').primaryKey(),
  erasedAt: timestamp('erased_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * The erasure records of events writers inserted erased, kept (in the batch's transaction) until they are in the log.
 */
export const lateErasures = auditSchema.table('late_erasures', {
  erasureId: uuid('erasure_id').primaryKey(),
  writer: text('writer').notNull(),
  details: jsonb('details').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
