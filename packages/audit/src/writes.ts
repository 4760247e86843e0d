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
 *
 * Tombstones (tombstones.ts, issue 30 item 5): a batch with subjects looks them up in the same
 * statement (UNNEST: the statement writes nothing if one applies, and the batch goes again in a
 * transaction with those events erased) or transaction (COPY: first), and the events of a subject
 * erased since they occurred are inserted erased, as erasure leaves an event in place; the
 * details of the record that states them are written in the same transaction.
 */
import { canonicalJson } from '@harakaflow/core';
import { isStreamSafe, resultRows, type Database } from '@harakaflow/db';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { erasableFields, type AuditEvent } from './event.js';
import type { Event3 } from './format3.js';
import { routeKey, type Interned, type InternKeys, type LookedUp } from './intern.js';
import { pgArray } from './pg-array.js';
import { CopyEncoder } from './pgcopy.js';
import { copyClient, copyInto } from './pgcopy-stream.js';
import {
  erasePlan,
  lateErasure,
  lateErasureRow,
  tombstoneLookup,
  type ErasePlan,
  type LateErasure,
  type Tombstoning,
} from './tombstones.js';

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
/** With the erasure columns: a batch some of whose events are inserted erased (tombstones.ts). */
const LEGACY_ERASING: typeof LEGACY_COLUMNS = [
  ...LEGACY_COLUMNS,
  ['erased_at', 'timestamptz', (e) => (e.erasedAt ? e.erasedAt.toISOString() : null)],
  ['erased_by', 'text', (e) => e.erasedBy],
];
const listOf = (columns: readonly [string, ...unknown[]][]) => sql.raw(columns.map(([name]) => `"${name}"`).join(', '));
const LEGACY_LIST = listOf(LEGACY_COLUMNS);
const LEGACY_ERASING_LIST = listOf(LEGACY_ERASING);

/** A format-1 or 2 event as erasure leaves it in place (store.ts eraseEvents): the same fields nulled, the digest kept. */
function erasedLegacy(e: AuditEvent, plan: ErasePlan): AuditEvent {
  const out: AuditEvent = { ...e, personalSalt: null, erasedAt: plan.at, erasedBy: plan.erasureId };
  for (const field of erasableFields(e.chainVersion)) (out as unknown as Record<string, unknown>)[field] = null;
  return out;
}

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
    if ((i.method != null || i.route != null) && interned.routeId(i.method ?? null, i.route ?? null) === undefined)
      keys.routes.add(routeKey(i.method ?? null, i.route ?? null));
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
  const route = hasRoute
    ? (interned.routeId(i.method ?? null, i.route ?? null) ??
      found.routes.get(routeKey(i.method ?? null, i.route ?? null)))
    : null;
  const writer = interned.writer(e.writer) ?? found.writers.get(e.writer);
  if (userAgent === undefined || route === undefined || writer === undefined)
    throw new Error('audit: an interned value was not looked up');
  return { userAgent, route, writer };
}

const V3_COLUMNS = [
  'id',
  'occurred_at',
  'day',
  'seq',
  'kind',
  'action',
  'resource',
  'outcome',
  'request_id',
  'method',
  'route',
  'path',
  'status',
  'duration_ms',
  'subject_id',
  'ip',
  'ip_invalid',
  'details',
  'chain_version',
  'hash_bytes',
  'personal_salt_bytes',
  'prev_hash_bytes',
  'user_agent_id',
  'route_id',
  'writer_id',
] as const;
const V3_LIST = V3_COLUMNS.map((c) => `"${c}"`).join(', ');
/** With the erasure columns: a batch some of whose events are inserted erased (the digest stored, as erasure stores it). */
const V3_ERASING_LIST = `${V3_LIST}, "personal_digest_bytes", "erased_at", "erased_by"`;
const V3_ERASING_COLUMNS = V3_COLUMNS.length + 3;

const DAY_MS = 86_400_000;
const unixDay = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;

/** References to user agents a batch adds, per (day, writer): user agent id -> events. */
type Refs = Map<string, { day: string; writer: number; counts: Map<number, number> }>;

/** The references of a batch as rows (user agent, day, writer, events). */
function refRows(refs: Refs): { userAgent: number; day: string; writer: number; events: number }[] {
  const rows: { userAgent: number; day: string; writer: number; events: number }[] = [];
  for (const { day, writer, counts } of refs.values())
    for (const [userAgent, events] of counts) rows.push({ userAgent, day, writer, events });
  return rows;
}

/** An event's id, salt and hash on their way into the COPY buffer (copied there at once), and views of each. */
const scratch = Buffer.alloc(64);
const idView = scratch.subarray(0, 16);
const saltView = scratch.subarray(16, 32);
const hashView = scratch.subarray(32, 64);
const digestView = Buffer.alloc(32);

/**
 * Encodes format-3 rows as one binary COPY (the encoder is reused: `finish()` is valid until its
 * next use). With `plan`, the rows carry the erasure columns too (V3_ERASING_LIST) and the events
 * it names go in erased: subject, IP, user agent, path, resource, details and salt NULL, the
 * digest stored, `erased_at` and `erased_by` set (and no reference to their user agent counted).
 */
export function encodeCopy(
  encoder: CopyEncoder,
  rows: readonly Event3[],
  interned: BatchIds,
  refs: Refs | null,
  plan: ErasePlan | null = null,
): Buffer {
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
    const gone = plan !== null && plan.erases(i.subjectId, e.occurredMs);
    if (counts && ids.userAgent !== null && !gone) counts.set(ids.userAgent, (counts.get(ids.userAgent) ?? 0) + 1);
    const access = impliedAccess(e);
    // One write for the bytes of the id, the salt and the hash.
    scratch.write(e.idHex + e.salt + e.hash, 0, 'hex');
    encoder
      .tuple(plan ? V3_ERASING_COLUMNS : V3_COLUMNS.length)
      .uuid(idView)
      .timestamptz(e.occurredMs)
      .date(dayNumber)
      .int4(e.seq);
    if (access) encoder.nil().nil();
    else encoder.text(i.kind).text(i.action);
    if (gone) encoder.nil();
    else opt(encoder, i.resource);
    opt(encoder, i.outcome);
    opt(encoder, i.requestId);
    if (ids.route !== null) encoder.nil().nil();
    else {
      opt(encoder, i.method);
      opt(encoder, i.route);
    }
    if (gone) encoder.nil();
    else opt(encoder, i.path);
    if (i.status == null) encoder.nil();
    else encoder.int2(i.status);
    if (i.durationMs == null) encoder.nil();
    else encoder.float8(i.durationMs);
    if (gone) encoder.nil().nil();
    else {
      opt(encoder, i.subjectId);
      opt(encoder, i.ip);
    }
    encoder.bool(i.ipInvalid ?? false);
    if (e.detailsJson === null || gone) encoder.nil();
    else encoder.jsonb(e.detailsJson);
    encoder.int2(3).bytea(hashView);
    if (gone) encoder.nil();
    else encoder.bytea(saltView);
    // The link is kept on a segment's first event only: verify takes every other from the row before.
    if (e.seq === 0) {
      scratch.write(e.prev, 32, 'hex');
      encoder.bytea(hashView);
    } else encoder.nil();
    if (ids.userAgent === null || gone) encoder.nil();
    else encoder.int4(ids.userAgent);
    if (ids.route === null) encoder.nil();
    else encoder.int4(ids.route);
    encoder.int4(ids.writer);
    if (plan) {
      if (gone) {
        digestView.write(e.digest, 0, 'hex');
        encoder.bytea(digestView).timestamptz(plan.at).text(plan.erasureId);
      } else encoder.nil().nil().nil();
    }
  }
  return encoder.finish();
}

function opt(encoder: CopyEncoder, v: string | null | undefined): void {
  if (v == null) encoder.nil();
  else encoder.text(v);
}

/** The format-3 rows as UNNEST arrays (PGlite, or a batch that mixes formats); with `plan`, the erasure columns too (see encodeCopy). */
function v3Arrays(rows: readonly Event3[], interned: BatchIds, plan: ErasePlan | null = null): SQL[] {
  lastAgent = null;
  const today = Math.floor(Date.now() / DAY_MS);
  const ids = rows.map((e) => idsOf(e, interned, today));
  const gone = plan ? rows.map((e) => plan.erases(e.input.subjectId, e.occurredMs)) : null;
  /** A personal field: NULL in an event inserted erased. */
  const own = <T>(i: number, v: T): T | null => (gone !== null && gone[i] ? null : v);
  const col = (type: string, get: (e: Event3, i: number) => string | null | undefined) =>
    sql`${pgArray(
      rows.map((e, i) => [e, i] as const),
      ([e, i]) => get(e, i),
    )}::${sql.raw(type)}[]`;
  const arrays = [
    col('uuid', (e) => e.id),
    col('timestamptz', (e) => new Date(e.occurredMs).toISOString()),
    col('date', (e) => e.day),
    col('int4', (e) => String(e.seq)),
    col('text', (e) => (impliedAccess(e) ? null : e.input.kind)),
    col('text', (e) => (impliedAccess(e) ? null : e.input.action)),
    col('text', (e, i) => own(i, e.input.resource)),
    col('text', (e) => e.input.outcome),
    col('text', (e) => e.input.requestId),
    col('text', (e, i) => (ids[i]!.route !== null ? null : e.input.method)),
    col('text', (e, i) => (ids[i]!.route !== null ? null : e.input.route)),
    col('text', (e, i) => own(i, e.input.path)),
    col('int2', (e) => (e.input.status == null ? null : String(e.input.status))),
    col('float8', (e) => (e.input.durationMs == null ? null : String(e.input.durationMs))),
    col('text', (e, i) => own(i, e.input.subjectId)),
    col('text', (e, i) => own(i, e.input.ip)),
    col('bool', (e) => (e.input.ipInvalid ? 't' : 'f')),
    col('jsonb', (e, i) => own(i, e.detailsJson)),
    col('int2', () => '3'),
    col('bytea', (e) => `\\x${e.hash}`),
    col('bytea', (e, i) => own(i, `\\x${e.salt}`)),
    col('bytea', (e) => (e.seq === 0 ? `\\x${e.prev}` : null)),
    col('int4', (_, i) => own(i, num(ids[i]!.userAgent))),
    col('int4', (_, i) => num(ids[i]!.route)),
    col('int4', (_, i) => String(ids[i]!.writer)),
  ];
  if (plan) {
    const at = plan.at.toISOString();
    arrays.push(
      col('bytea', (e, i) => (gone![i] ? `\\x${e.digest}` : null)),
      col('timestamptz', (_, i) => (gone![i] ? at : null)),
      col('text', (_, i) => (gone![i] ? plan.erasureId : null)),
    );
  }
  return arrays;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and references, upserted with the events.

/**
 * A checkpoint only moves forward: a replayed older batch cannot roll back a newer checkpoint.
 * `where`: the guard of a statement that writes nothing when a tombstone applies (see writeUnnest).
 */
function checkpointUpsert(marks: readonly Checkpoint[], where: SQL | null = null): SQL {
  const m = (get: (c: Checkpoint) => string) => pgArray(marks, get);
  return sql`insert into audit.checkpoints (writer, day, count, last_hash, closed, mac)
    select * from unnest(${m((c) => c.writer)}::text[], ${m((c) => c.day)}::date[], ${m((c) => String(c.count))}::int4[],
      ${m((c) => c.lastHash)}::text[], ${m((c) => (c.closed ? 't' : 'f'))}::bool[], ${m((c) => c.mac)}::text[])${where ?? sql``}
    on conflict (writer, day) do update set count = excluded.count, last_hash = excluded.last_hash, closed = excluded.closed,
      mac = excluded.mac, updated_at = now()
    where audit.checkpoints.count < excluded.count or (audit.checkpoints.count = excluded.count and excluded.closed and not audit.checkpoints.closed)`;
}

const REFS_CONFLICT = sql.raw(
  `on conflict (user_agent_id, day, writer_id) do update set events = audit.user_agent_refs.events + excluded.events`,
);

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

/**
 * `with <ctes> <tail>`, the tail being the checkpoints' upsert (or nothing to upsert); with `tail`,
 * the upsert is one more CTE (`where`: its guard) and `tail` is what the statement returns.
 */
function withCheckpoints(
  ctes: readonly SQL[],
  marks: readonly Checkpoint[],
  tail: SQL | null = null,
  where: SQL | null = null,
): SQL {
  if (!tail) {
    const upsert = marks.length ? checkpointUpsert(marks, where) : sql`select 1`;
    return ctes.length ? sql`with ${sql.join(ctes as SQL[], sql`, `)} ${upsert}` : upsert;
  }
  const all: SQL[] = marks.length ? [...ctes, sql`marks as (${checkpointUpsert(marks, where)})`] : [...ctes];
  return all.length ? sql`with ${sql.join(all, sql`, `)} ${tail}` : tail;
}

// ---------------------------------------------------------------------------------------------
// The two paths.

/** What the tombstone lookup returns: a tombstone (hex) of a subject of the batch, and when it was written (epoch ms). */
type Found = { tombstone: string; erased_ms: number | string };

/** Rows inserted only when the batch meets no tombstone (the guarded statement, see writeUnnest). */
const GUARD = sql` where not exists (select 1 from erased)`;

/**
 * The one UNNEST statement of a batch: its events (each format its columns), the references of
 * format-3 rows to user agents, the checkpoints. `guard`: the tombstone lookup, and the statement
 * writes nothing (and returns the tombstones found) if it finds any; `plan`: the events it names
 * go in erased, and the statement returns the ids of those it inserted.
 */
function unnestStatement(
  legacy: readonly AuditEvent[],
  v3: readonly Event3[],
  marks: readonly Checkpoint[],
  interned: BatchIds | null,
  guard: SQL | null,
  plan: ErasePlan | null,
): SQL {
  const where = guard ? GUARD : sql``;
  const ctes: SQL[] = [];
  if (guard) ctes.push(sql`erased as materialized (${guard})`);
  if (legacy.length) {
    const columns = plan ? LEGACY_ERASING : LEGACY_COLUMNS;
    const rows = plan
      ? legacy.map((e) => (plan.erases(e.subjectId, e.occurredAt.getTime()) ? erasedLegacy(e, plan) : e))
      : legacy;
    const arrays = columns.map(([, type, get]) => sql`${pgArray(rows, get)}::${sql.raw(type)}[]`);
    ctes.push(
      sql`legacy as (insert into audit.events (${plan ? LEGACY_ERASING_LIST : LEGACY_LIST}) select * from unnest(${sql.join(arrays, sql`, `)})${where} on conflict do nothing returning ${sql.raw(plan ? 'id, erased_by' : '1')})`,
    );
  }
  if (v3.length) {
    if (!interned) throw new Error('audit: format-3 rows need their interned values');
    ctes.push(
      sql`inserted as (insert into audit.events (${sql.raw(plan ? V3_ERASING_LIST : V3_LIST)}) select * from unnest(${sql.join(v3Arrays(v3, interned, plan), sql`, `)})${where} on conflict do nothing returning ${sql.raw(plan ? 'id, erased_by, ' : '')}user_agent_id, day, writer_id)`,
    );
    ctes.push(REFS_FROM_INSERTED);
  }
  let tail: SQL | null = null;
  if (guard) tail = sql`select tombstone, erased_ms from erased`;
  else if (plan) {
    const parts: SQL[] = [];
    if (legacy.length) parts.push(sql`select id::text as id from legacy where erased_by is not null`);
    if (v3.length) parts.push(sql`select id::text as id from inserted where erased_by is not null`);
    tail = parts.length ? sql.join(parts, sql` union all `) : null;
  }
  return withCheckpoints(ctes, marks, tail, guard ? GUARD : null);
}

/** The writer a batch's events name (the late-erasure row's, for an operator reading it). */
const writerOf = (legacy: readonly AuditEvent[], v3: readonly Event3[]): string =>
  legacy[0]?.writer ?? v3[0]?.writer ?? '';

/** Keeps the record of the events a batch inserted erased, in the batch's transaction; its details for the writer to append. */
async function keepLate(db: Database, plan: ErasePlan, ids: readonly string[], writer: string): Promise<LateErasure[]> {
  if (!ids.length) return [];
  const late = lateErasure(plan.erasureId, ids);
  await db.execute(lateErasureRow(late, writer));
  return [late];
}

/**
 * Writes events (any format) and upserts checkpoints in one statement (UNNEST). Idempotent: an
 * event already stored (same id) is skipped, and only the rows inserted count as references.
 * Format-3 rows need `interned` with their values looked up (Interned.resolve).
 *
 * With `tombstones` (tombstones.ts), a batch with subjects goes as the same one statement guarded
 * by the tombstone lookup: it writes nothing if a subject of the batch was erased after one of its
 * events occurred (nor if some event is past the longest wait). Then, rarely, the batch goes again
 * in a transaction: the lookup (its lock held until the commit), the statement with those events
 * inserted erased, and the late erasure's row. Returns the erasure records to append.
 */
export async function writeUnnest(
  db: Database,
  legacy: readonly AuditEvent[],
  v3: readonly Event3[],
  marks: readonly Checkpoint[],
  interned: BatchIds | null,
  tombstones: Tombstoning | null = null,
): Promise<LateErasure[]> {
  if (!tombstones || (!tombstones.check && !tombstones.old)) {
    await db.execute(unnestStatement(legacy, v3, marks, interned, null, null));
    return [];
  }
  const t = tombstones;
  if (
    !t.old &&
    resultRows<Found>(await db.execute(unnestStatement(legacy, v3, marks, interned, tombstoneLookup(t.check!), null)))
      .length === 0
  )
    return [];
  return db.transaction(async (tx) => {
    const d = tx as unknown as Database;
    const plan = erasePlan(t.check ? resultRows<Found>(await d.execute(tombstoneLookup(t.check))) : [], t);
    if (!plan) {
      await d.execute(unnestStatement(legacy, v3, marks, interned, null, null));
      return [];
    }
    const ids = resultRows<{ id: string }>(
      await d.execute(unnestStatement(legacy, v3, marks, interned, null, plan)),
    ).map((r) => r.id);
    return keepLate(d, plan, ids, writerOf(legacy, v3));
  });
}

const STAGE = 'hf_audit_stage';
const dialect = new PgDialect();

/** Reusable COPY encoders (one per batch in flight: a batch's bytes must outlive the next batch's encoding). */
const encoders: CopyEncoder[] = [];

/** How format-3 batches go on Postgres: binary COPY (true), UNNEST (false), or 'auto'. */
export type CopyMode = boolean | 'auto';

/**
 * Whether format-3 batches on this database go by binary COPY. Only on postgres.js (PGlite has no
 * COPY FROM STDIN). `'auto'` (the default): COPY on a pool `@harakaflow/db` made (isStreamSafe),
 * unless it was made for a transaction pooler (`prepare: false`, `pooler: 'transaction'`). There
 * the pooler's server connections are shared by every client, and a COPY batch holds one for at
 * least five round trips (begin, COPY, its data, the references and checkpoint, commit; more for a
 * retry or a tombstone lookup) where UNNEST sends one statement: with a small pool, other clients'
 * short queries (the quota store's) waited behind the batches (README, "COPY or UNNEST").
 */
export function usesCopy(db: Database, mode: CopyMode = 'auto'): boolean {
  const client = copyClient(db);
  if (client === null || mode === false) return false;
  if (mode === true) return true;
  // Only a pool @harakaflow/db made: one made elsewhere may leave Nagle's algorithm on (each COPY
  // then waits 40 ms or more for a delayed ACK) or not be postgres.js at all.
  return isStreamSafe(db) && (client as { options?: { prepare?: unknown } }).options?.prepare !== false;
}

/**
 * A batch of format-3 events by binary COPY, with its references and checkpoints, in one
 * transaction. `idempotent`: some rows may be stored already (a retry, a replay): through a
 * temporary table and `ON CONFLICT DO NOTHING`. With `tombstones` and subjects in the batch, the
 * transaction starts with the tombstone lookup (its lock held until the commit); if it finds any,
 * the batch is encoded again with those events erased (and their late erasure's row written).
 * Returns the erasure records to append.
 */
export async function writeCopy(
  db: Database,
  rows: readonly Event3[],
  marks: readonly Checkpoint[],
  interned: BatchIds,
  idempotent: boolean,
  tombstones: Tombstoning | null = null,
): Promise<LateErasure[]> {
  const client = copyClient(db)!;
  const encoder = encoders.pop() ?? new CopyEncoder([], 256 * 1024);
  try {
    let refs: Refs | null = idempotent ? null : new Map();
    let data = encodeCopy(encoder, rows, interned, refs);
    return await client.begin(async (tx) => {
      let plan: ErasePlan | null = null;
      if (tombstones && (tombstones.check || tombstones.old)) {
        let found: Found[] = [];
        if (tombstones.check) {
          const lookup = dialect.sqlToQuery(tombstoneLookup(tombstones.check));
          found = (await tx.unsafe(lookup.sql, lookup.params as string[])) as Found[];
        }
        plan = erasePlan(found, tombstones);
        if (plan) {
          refs = idempotent ? null : new Map();
          data = encodeCopy(encoder, rows, interned, refs, plan);
        }
      }
      const list = plan ? V3_ERASING_LIST : V3_LIST;
      const ctes: SQL[] = [];
      let tail: SQL | null = null;
      if (idempotent) {
        await tx.unsafe(`create temp table ${STAGE} (like audit.events) on commit drop`, []);
        await copyInto(tx, `copy ${STAGE} (${list}) from stdin (format binary)`, data);
        ctes.push(
          sql.raw(
            `inserted as (insert into audit.events (${list}) select ${list} from ${STAGE} on conflict do nothing returning ${plan ? 'id, erased_by, ' : ''}user_agent_id, day, writer_id)`,
          ),
        );
        ctes.push(REFS_FROM_INSERTED);
        if (plan) tail = sql`select id::text as id from inserted where erased_by is not null`;
      } else {
        await copyInto(tx, `copy audit.events (${list}) from stdin (format binary)`, data);
        if (refRows(refs!).length) ctes.push(sql`refs as (${refsUpsert(refs!)} returning 1)`);
      }
      let ids: string[] = [];
      if (ctes.length || marks.length) {
        const q = dialect.sqlToQuery(withCheckpoints(ctes, marks, tail));
        const result = (await tx.unsafe(q.sql, q.params as string[])) as unknown as { id: string }[];
        if (tail) ids = result.map((r) => r.id);
      }
      if (!plan) return [];
      const erasing = plan;
      // A first attempt inserts every row (COPY is all or nothing).
      if (!idempotent) ids = rows.filter((e) => erasing.erases(e.input.subjectId, e.occurredMs)).map((e) => e.id);
      if (!ids.length) return [];
      const late = lateErasure(erasing.erasureId, ids);
      const keep = dialect.sqlToQuery(lateErasureRow(late, rows[0]!.writer));
      await tx.unsafe(keep.sql, keep.params as string[]);
      return [late];
    });
  } finally {
    encoders.push(encoder);
  }
}
