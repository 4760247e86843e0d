/**
 * The SQL a batch's statements share (writes.ts): checkpoint and reference upserts, the tombstone guard, the
 * late-erasure row.
 */
import { type Database } from '@harakaflow/db';
import { sql, type SQL } from 'drizzle-orm';
import { type AuditEvent } from './event.js';
import type { Event3 } from './format3.js';
import { pgArray } from './pg-array.js';
import { lateErasure, lateErasureRow, type ErasePlan, type LateErasure } from './tombstones.js';
import {
  type BatchIds,
  type Checkpoint,
  erasedLegacy,
  LEGACY_COLUMNS,
  LEGACY_ERASING,
  LEGACY_ERASING_LIST,
  LEGACY_LIST,
  refRows,
  type Refs,
  V3_ERASING_LIST,
  V3_LIST,
  v3Arrays,
} from './writes-rows.js';

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
export function refsUpsert(refs: Refs): SQL {
  const list = refRows(refs);
  return sql`insert into audit.user_agent_refs (user_agent_id, day, writer_id, events)
    select * from unnest(${pgArray(list, (r) => String(r.userAgent))}::int4[], ${pgArray(list, (r) => r.day)}::date[],
      ${pgArray(list, (r) => String(r.writer))}::int4[], ${pgArray(list, (r) => String(r.events))}::int8[]) ${REFS_CONFLICT}`;
}

/** The references counted from the rows an idempotent insert returned (the CTE `inserted`). */
export const REFS_FROM_INSERTED = sql`refs as (insert into audit.user_agent_refs (user_agent_id, day, writer_id, events)
  select user_agent_id, day, writer_id, count(*) from inserted where user_agent_id is not null group by 1, 2, 3 ${REFS_CONFLICT} returning 1)`;

/**
 * `with <ctes> <tail>`, the tail being the checkpoints' upsert (or nothing to upsert); with `tail`,
 * the upsert is one more CTE (`where`: its guard) and `tail` is what the statement returns.
 */
export function withCheckpoints(
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

/**
 * What the tombstone lookup returns: a tombstone (hex) of a subject of the batch, and when it was written (epoch ms).
 */
export type Found = { tombstone: string; erased_ms: number | string };

/** Rows inserted only when the batch meets no tombstone (the guarded statement, see writeUnnest). */
const GUARD = sql` where not exists (select 1 from erased)`;

/**
 * The one UNNEST statement of a batch: its events (each format its columns), the references of
 * format-3 rows to user agents, the checkpoints. `guard`: the tombstone lookup, and the statement
 * writes nothing (and returns the tombstones found) if it finds any; `plan`: the events it names
 * go in erased, and the statement returns the ids of those it inserted.
 */
export function unnestStatement(
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
export const writerOf = (legacy: readonly AuditEvent[], v3: readonly Event3[]): string =>
  legacy[0]?.writer ?? v3[0]?.writer ?? '';

/**
 * Keeps the record of the events a batch inserted erased, in the batch's transaction; its details for the writer to
 * append.
 */
export async function keepLate(
  db: Database,
  plan: ErasePlan,
  ids: readonly string[],
  writer: string,
): Promise<LateErasure[]> {
  if (!ids.length) return [];
  const late = lateErasure(plan.erasureId, ids);
  await db.execute(lateErasureRow(late, writer));
  return [late];
}
