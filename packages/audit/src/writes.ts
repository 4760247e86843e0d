/**
 * The statements that write a batch of events with the checkpoints of the segments it touches,
 * all in one transaction (issue 29 item 2):
 *
 * - On Postgres (postgres.js), a batch of format-3 events goes by binary COPY (pgcopy.ts): the
 *   rows reach the server in their binary form, nobody parses text. Its first attempt copies
 *   straight into `audit.events` (COPY cannot skip a row already stored, and a first attempt has
 *   none); a retry or a spill replay, which may meet rows that are stored (a commit that was not
 *   acknowledged), copies into a temporary table made inside the transaction (`ON COMMIT DROP`:
 *   nothing outlives it, so it works through PgBouncer in transaction mode) and inserts from it
 *   with `ON CONFLICT DO NOTHING`.
 * - Otherwise (PGlite, formats 1 and 2, a batch that mixes them): one statement, one Postgres
 *   array per column expanded by UNNEST, `ON CONFLICT DO NOTHING` (idempotent on every attempt).
 *
 * Either way the references to interned user agents (`audit.user_agent_refs`, counted from the
 * rows actually inserted) and the checkpoints are upserted in the same transaction.
 */
import { canonicalJson } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { AuditEvent } from './event.js';
import type { Event3 } from './format3.js';
import { routeKey, type Interned, type InternKeys, type LookedUp } from './intern.js';
import { pgArray } from './pg-array.js';
import { copyClient, copyInto, CopyEncoder } from './pgcopy.js';

export interface Checkpoint {
  writer: string;
  day: string;
  count: number;
  lastHash: string;
  closed: boolean;
  mac: string;
}

// ---------------------------------------------------------------------------------------------
// Formats 1 and 2: every column, text arrays.

const str = (v: string | null) => v;
const num = (v: number | null) => (v === null ? null : String(v));
const LEGACY_COLUMNS: [string, string, (e: AuditEvent) => string | null][] = [
  ['id', 'uuid', (e) => e.id],
  ['occurred_at', 'timestamptz', (e) => e.occurredAt.toISOString()],
  ['writer', 'text', (e) => e.writer],
  ['day', 'date', (e) => e.day],
  ['seq', 'int4', (e) => String(e.seq)],
  ['kind', 'text', (e) => e.kind],
  ['action', 'text', (e) => e.action],
  ['resource', 'text', (e) => str(e.resource)],
  ['outcome', 'text', (e) => str(e.outcome)],
  ['request_id', 'text', (e) => str(e.requestId)],
  ['method', 'text', (e) => str(e.method)],
  ['route', 'text', (e) => str(e.route)],
  ['path', 'text', (e) => str(e.path)],
  ['status', 'int2', (e) => num(e.status)],
  ['duration_ms', 'float8', (e) => num(e.durationMs)],
  ['subject_id', 'text', (e) => str(e.subjectId)],
  ['ip', 'text', (e) => str(e.ip)],
  ['ip_invalid', 'bool', (e) => (e.ipInvalid ? 't' : 'f')],
  ['user_agent', 'text', (e) => str(e.userAgent)],
  ['browser_name', 'text', (e) => str(e.browserName)],
  ['browser_version', 'text', (e) => str(e.browserVersion)],
  ['os_name', 'text', (e) => str(e.osName)],
  ['os_version', 'text', (e) => str(e.osVersion)],
  ['device_type', 'text', (e) => str(e.deviceType)],
  ['details', 'jsonb', (e) => (e.details === null || e.details === undefined ? null : canonicalJson(e.details))],
  ['personal_salt', 'text', (e) => str(e.personalSalt)],
  ['personal_digest', 'text', (e) => e.personalDigest],
  ['prev_hash', 'text', (e) => e.prevHash],
  ['hash', 'text', (e) => e.hash],
  ['chain_version', 'int2', (e) => String(e.chainVersion)],
];
const LEGACY_LIST = sql.raw(LEGACY_COLUMNS.map(([name]) => `"${name}"`).join(', '));

// ---------------------------------------------------------------------------------------------
// Format 3: the lean row.

/** An access event's kind and action are implied by a NULL `kind` (readers coalesce them back). */
const impliedAccess = (e: Event3) => e.input.kind === 'access' && e.input.action === 'http.request';

/** The interned ids of one format-3 row. */
interface Ids3 {
  userAgent: number | null;
  route: number | null;
  writer: number;
}

/** What of a batch of format-3 events is not interned yet (a batch of a known traffic: nothing). */
export function internKeys(rows: readonly Event3[], interned: Interned): InternKeys {
  const keys: InternKeys = { userAgents: new Set(), routes: new Set(), writers: new Set() };
  const today = Math.floor(Date.now() / DAY_MS);
  let lastWriter = '';
  let lastAgent = '';
  for (const e of rows) {
    const i = e.input;
    const ua = i.userAgent;
    if (ua && ua !== lastAgent) {
      lastAgent = ua;
      if (interned.userAgent(ua, today) === undefined) keys.userAgents.add(ua);
    }
    if ((i.method != null || i.route != null) && interned.routeId(i.method ?? null, i.route ?? null) === undefined) keys.routes.add(routeKey(i.method ?? null, i.route ?? null));
    if (e.writer !== lastWriter && interned.writer((lastWriter = e.writer)) === undefined) keys.writers.add(e.writer);
  }
  return keys;
}

/** The last user agent looked up in the LRU, and its id: consecutive events often share one. */
let lastAgent: string | null = null;
let lastAgentId: number | undefined;
let lastAgentCache: Interned | null = null;

/** A format-3 batch's interned values: the writer's caches, and what the batch itself looked up. */
export interface BatchIds {
  interned: Interned;
  found: LookedUp;
}

function idsOf(e: Event3, ids: BatchIds, today: number): Ids3 {
  const { interned, found } = ids;
  const i = e.input;
  const ua = i.userAgent;
  let userAgent: number | null | undefined = null;
  if (ua) {
    if (ua === lastAgent && interned === lastAgentCache) userAgent = lastAgentId;
    else {
      userAgent = interned.userAgent(ua, today) ?? found.userAgents.get(ua);
      lastAgent = ua;
      lastAgentId = userAgent;
      lastAgentCache = interned;
    }
  }
  const hasRoute = i.method != null || i.route != null;
  const route = hasRoute ? (interned.routeId(i.method ?? null, i.route ?? null) ?? found.routes.get(routeKey(i.method ?? null, i.route ?? null))) : null;
  const writer = interned.writer(e.writer) ?? found.writers.get(e.writer);
  if (userAgent === undefined || route === undefined || writer === undefined) throw new Error('audit: an interned value was not looked up');
  return { userAgent, route, writer };
}

const V3_COLUMNS = [
  'id', 'occurred_at', 'day', 'seq', 'kind', 'action', 'resource', 'outcome', 'request_id', 'method', 'route', 'path', 'status', 'duration_ms',
  'subject_id', 'ip', 'ip_invalid', 'details', 'chain_version', 'hash_bytes', 'personal_salt_bytes', 'prev_hash_bytes', 'user_agent_id', 'route_id', 'writer_id',
] as const;
const V3_LIST = V3_COLUMNS.map((c) => `"${c}"`).join(', ');

const DAY_MS = 86_400_000;
const unixDay = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;

/** References to user agents a batch adds, per (day, writer): user agent id -> events. */
type Refs = Map<string, { day: string; writer: number; counts: Map<number, number> }>;

/** The references of a batch as rows (user agent, day, writer, events). */
function refRows(refs: Refs): { userAgent: number; day: string; writer: number; events: number }[] {
  const rows: { userAgent: number; day: string; writer: number; events: number }[] = [];
  for (const { day, writer, counts } of refs.values()) for (const [userAgent, events] of counts) rows.push({ userAgent, day, writer, events });
  return rows;
}

/** An event's id, salt and hash on their way into the COPY buffer (copied there at once), and views of each. */
const scratch = Buffer.alloc(64);
const idView = scratch.subarray(0, 16);
const saltView = scratch.subarray(16, 32);
const hashView = scratch.subarray(32, 64);

/** Encodes format-3 rows as one binary COPY (the encoder is reused: `finish()` is valid until its next use). */
export function encodeCopy(encoder: CopyEncoder, rows: readonly Event3[], interned: BatchIds, refs: Refs | null): Buffer {
  lastAgent = null; // ids are looked up afresh for each batch (a new day may have new ones)
  encoder.reset();
  const today = Math.floor(Date.now() / DAY_MS);
  let lastDay = '';
  let dayNumber = 0;
  let counts: Map<number, number> | null = null;
  let countsWriter = -1;
  for (const e of rows) {
    const i = e.input;
    const ids = idsOf(e, interned, today);
    if (e.day !== lastDay || ids.writer !== countsWriter) {
      if (e.day !== lastDay) dayNumber = unixDay((lastDay = e.day));
      countsWriter = ids.writer;
      if (refs) {
        const key = `${e.day}|${ids.writer}`;
        let r = refs.get(key);
        if (!r) refs.set(key, (r = { day: e.day, writer: ids.writer, counts: new Map() }));
        counts = r.counts;
      }
    }
    if (counts && ids.userAgent !== null) counts.set(ids.userAgent, (counts.get(ids.userAgent) ?? 0) + 1);
    const access = impliedAccess(e);
    // One write for the bytes of the id, the salt and the hash.
    scratch.write(e.idHex + e.salt + e.hash, 0, 'hex');
    encoder.tuple(V3_COLUMNS.length).uuid(idView).timestamptz(e.occurredMs).date(dayNumber).int4(e.seq);
    if (access) encoder.nil().nil();
    else encoder.text(i.kind).text(i.action);
    opt(encoder, i.resource);
    opt(encoder, i.outcome);
    opt(encoder, i.requestId);
    if (ids.route !== null) encoder.nil().nil();
    else {
      opt(encoder, i.method);
      opt(encoder, i.route);
    }
    opt(encoder, i.path);
    if (i.status == null) encoder.nil();
    else encoder.int2(i.status);
    if (i.durationMs == null) encoder.nil();
    else encoder.float8(i.durationMs);
    opt(encoder, i.subjectId);
    opt(encoder, i.ip);
    encoder.bool(i.ipInvalid ?? false);
    if (e.detailsJson === null) encoder.nil();
    else encoder.jsonb(e.detailsJson);
    encoder.int2(3).bytea(hashView).bytea(saltView);
    // The link is kept on a segment's first event only: verify takes every other from the row before.
    if (e.seq === 0) {
      scratch.write(e.prev, 32, 'hex');
      encoder.bytea(hashView);
    } else encoder.nil();
    if (ids.userAgent === null) encoder.nil();
    else encoder.int4(ids.userAgent);
    if (ids.route === null) encoder.nil();
    else encoder.int4(ids.route);
    encoder.int4(ids.writer);
  }
  return encoder.finish();
}

function opt(encoder: CopyEncoder, v: string | null | undefined): void {
  if (v == null) encoder.nil();
  else encoder.text(v);
}

/** The format-3 rows as UNNEST arrays (PGlite, or a batch that mixes formats). */
function v3Arrays(rows: readonly Event3[], interned: BatchIds): SQL[] {
  lastAgent = null;
  const today = Math.floor(Date.now() / DAY_MS);
  const ids = rows.map((e) => idsOf(e, interned, today));
  const col = (type: string, get: (e: Event3, i: number) => string | null | undefined) => sql`${pgArray(rows.map((e, i) => [e, i] as const), ([e, i]) => get(e, i))}::${sql.raw(type)}[]`;
  return [
    col('uuid', (e) => e.id),
    col('timestamptz', (e) => new Date(e.occurredMs).toISOString()),
    col('date', (e) => e.day),
    col('int4', (e) => String(e.seq)),
    col('text', (e) => (impliedAccess(e) ? null : e.input.kind)),
    col('text', (e) => (impliedAccess(e) ? null : e.input.action)),
    col('text', (e) => e.input.resource),
    col('text', (e) => e.input.outcome),
    col('text', (e) => e.input.requestId),
    col('text', (e, i) => (ids[i]!.route !== null ? null : e.input.method)),
    col('text', (e, i) => (ids[i]!.route !== null ? null : e.input.route)),
    col('text', (e) => e.input.path),
    col('int2', (e) => (e.input.status == null ? null : String(e.input.status))),
    col('float8', (e) => (e.input.durationMs == null ? null : String(e.input.durationMs))),
    col('text', (e) => e.input.subjectId),
    col('text', (e) => e.input.ip),
    col('bool', (e) => (e.input.ipInvalid ? 't' : 'f')),
    col('jsonb', (e) => e.detailsJson),
    col('int2', () => '3'),
    col('bytea', (e) => `\\x${e.hash}`),
    col('bytea', (e) => `\\x${e.salt}`),
    col('bytea', (e) => (e.seq === 0 ? `\\x${e.prev}` : null)),
    col('int4', (_, i) => num(ids[i]!.userAgent)),
    col('int4', (_, i) => num(ids[i]!.route)),
    col('int4', (_, i) => String(ids[i]!.writer)),
  ];
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and references, upserted with the events.

/** A checkpoint only moves forward: a replayed older batch cannot roll back a newer checkpoint. */
function checkpointUpsert(marks: readonly Checkpoint[]): SQL {
  const m = (get: (c: Checkpoint) => string) => pgArray(marks, get);
  return sql`insert into audit.checkpoints (writer, day, count, last_hash, closed, mac)
    select * from unnest(${m((c) => c.writer)}::text[], ${m((c) => c.day)}::date[], ${m((c) => String(c.count))}::int4[],
      ${m((c) => c.lastHash)}::text[], ${m((c) => (c.closed ? 't' : 'f'))}::bool[], ${m((c) => c.mac)}::text[])
    on conflict (writer, day) do update set count = excluded.count, last_hash = excluded.last_hash, closed = excluded.closed,
      mac = excluded.mac, updated_at = now()
    where audit.checkpoints.count < excluded.count or (audit.checkpoints.count = excluded.count and excluded.closed and not audit.checkpoints.closed)`;
}

const REFS_CONFLICT = sql.raw(`on conflict (user_agent_id, day, writer_id) do update set events = audit.user_agent_refs.events + excluded.events`);

/** The references counted in JavaScript (a first attempt: every row is inserted). */
function refsUpsert(refs: Refs): SQL {
  const list = refRows(refs);
  return sql`insert into audit.user_agent_refs (user_agent_id, day, writer_id, events)
    select * from unnest(${pgArray(list, (r) => String(r.userAgent))}::int4[], ${pgArray(list, (r) => r.day)}::date[],
      ${pgArray(list, (r) => String(r.writer))}::int4[], ${pgArray(list, (r) => String(r.events))}::int8[]) ${REFS_CONFLICT}`;
}

/** The references counted from the rows an idempotent insert returned (the CTE `inserted`). */
const REFS_FROM_INSERTED = sql`refs as (insert into audit.user_agent_refs (user_agent_id, day, writer_id, events)
  select user_agent_id, day, writer_id, count(*) from inserted where user_agent_id is not null group by 1, 2, 3 ${REFS_CONFLICT} returning 1)`;

/** `with <ctes> <tail>`, the tail being the checkpoints' upsert (or nothing to upsert). */
function withCheckpoints(ctes: readonly SQL[], marks: readonly Checkpoint[]): SQL {
  const tail = marks.length ? checkpointUpsert(marks) : sql`select 1`;
  return ctes.length ? sql`with ${sql.join(ctes as SQL[], sql`, `)} ${tail}` : tail;
}

// ---------------------------------------------------------------------------------------------
// The two paths.

/**
 * Writes events (any format) and upserts checkpoints in one statement (UNNEST). Idempotent: an
 * event already stored (same id) is skipped, and only the rows inserted count as references.
 * Format-3 rows need `interned` with their values looked up (Interned.resolve).
 */
export async function writeUnnest(db: Database, legacy: readonly AuditEvent[], v3: readonly Event3[], marks: readonly Checkpoint[], interned: BatchIds | null): Promise<void> {
  const ctes: SQL[] = [];
  if (legacy.length) {
    const arrays = LEGACY_COLUMNS.map(([, type, get]) => sql`${pgArray(legacy, get)}::${sql.raw(type)}[]`);
    ctes.push(sql`legacy as (insert into audit.events (${LEGACY_LIST}) select * from unnest(${sql.join(arrays, sql`, `)}) on conflict do nothing returning 1)`);
  }
  if (v3.length) {
    if (!interned) throw new Error('audit: format-3 rows need their interned values');
    ctes.push(sql`inserted as (insert into audit.events (${sql.raw(V3_LIST)}) select * from unnest(${sql.join(v3Arrays(v3, interned), sql`, `)}) on conflict do nothing returning user_agent_id, day, writer_id)`);
    ctes.push(REFS_FROM_INSERTED);
  }
  await db.execute(withCheckpoints(ctes, marks));
}

const COPY_EVENTS = `copy audit.events (${V3_LIST}) from stdin (format binary)`;
const STAGE = 'hf_audit_stage';
const dialect = new PgDialect();

/** Reusable COPY encoders (one per batch in flight: a batch's bytes must outlive the next batch's encoding). */
const encoders: CopyEncoder[] = [];

/** Whether format-3 batches on this database go by COPY (postgres.js; PGlite has no COPY FROM STDIN). */
export const canCopy = (db: Database): boolean => copyClient(db) !== null;

/**
 * A batch of format-3 events by binary COPY, with its references and checkpoints, in one
 * transaction. `idempotent`: some rows may be stored already (a retry, a replay): through a
 * temporary table and `ON CONFLICT DO NOTHING`.
 */
export async function writeCopy(db: Database, rows: readonly Event3[], marks: readonly Checkpoint[], interned: BatchIds, idempotent: boolean): Promise<void> {
  const client = copyClient(db)!;
  const encoder = encoders.pop() ?? new CopyEncoder([], 256 * 1024);
  try {
    const refs: Refs | null = idempotent ? null : new Map();
    const data = encodeCopy(encoder, rows, interned, refs);
    await client.begin(async (tx) => {
      const ctes: SQL[] = [];
      if (idempotent) {
        await tx.unsafe(`create temp table ${STAGE} (like audit.events) on commit drop`, []);
        await copyInto(tx, `copy ${STAGE} (${V3_LIST}) from stdin (format binary)`, data);
        ctes.push(sql.raw(`inserted as (insert into audit.events (${V3_LIST}) select ${V3_LIST} from ${STAGE} on conflict do nothing returning user_agent_id, day, writer_id)`));
        ctes.push(REFS_FROM_INSERTED);
      } else {
        await copyInto(tx, COPY_EVENTS, data);
        if (refRows(refs!).length) ctes.push(sql`refs as (${refsUpsert(refs!)} returning 1)`);
      }
      if (!ctes.length && !marks.length) return;
      const q = dialect.sqlToQuery(withCheckpoints(ctes, marks));
      await tx.unsafe(q.sql, q.params as string[]);
    });
  } finally {
    encoders.push(encoder);
  }
}
