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
import { isStreamSafe, resultRows, type Database } from '@harakaflow/db';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { type AuditEvent } from './event.js';
import type { Event3 } from './format3.js';
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
import { encodeCopy } from './writes-encode.js';
import { type BatchIds, type Checkpoint, refRows, type Refs, V3_ERASING_LIST, V3_LIST } from './writes-rows.js';
import {
  type Found,
  keepLate,
  REFS_FROM_INSERTED,
  refsUpsert,
  unnestStatement,
  withCheckpoints,
  writerOf,
} from './writes-sql.js';

export { internKeys, type Checkpoint } from './writes-rows.js';

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
