/**
 * A retention class over one table: rows whose time column is before the cutoff are deleted by key,
 * `limit` at a time (one short statement each, `DELETE ... WHERE key IN (SELECT ... LIMIT n)`), the
 * rows of held subjects left alone. `expired` replaces the condition for classes whose period
 * depends on the row (a plan's longer period).
 */
import type { RetentionBatch, RetentionClass } from '@harakaflow/core';
import { resultRows, type Database } from '@harakaflow/db';
import { and, count, inArray, lt, min, not, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';

export interface TableClassOptions extends Omit<RetentionClass, 'purgeBatch' | 'oldest'> {
  db: Database;
  table: PgTable;
  key: PgColumn;
  time: PgColumn;
  /** The account a row belongs to: legal holds keep its rows. */
  subject?: PgColumn | undefined;
  /** Which rows are past their period (default: `time` before the cutoff). */
  expired?: ((batch: RetentionBatch) => SQL) | undefined;
}

export function tableClass(o: TableClassOptions): RetentionClass {
  const { db, table, key, time, subject, expired, ...spec } = o;
  const where = (batch: RetentionBatch) => {
    const past = expired ? expired(batch) : lt(time, sql`${batch.cutoff.toISOString()}::timestamptz`);
    return subject && batch.heldSubjects.length ? and(past, not(inArray(subject, [...batch.heldSubjects]))) : past;
  };
  return {
    ...spec,
    async purgeBatch(batch) {
      if (batch.dryRun) {
        const [row] = await db.select({ n: count() }).from(table).where(where(batch));
        return { rows: Number(row?.n ?? 0), done: true };
      }
      const victims = db.select({ k: key }).from(table).where(where(batch)).limit(batch.limit);
      const gone = resultRows<{ n: number }>(
        await db.execute(
          sql`with gone as (delete from ${table} where ${key} in (${victims}) returning 1) select count(*)::int as n from gone`,
        ),
      );
      const rows = gone[0]?.n ?? 0;
      return { rows, done: rows < batch.limit };
    },
    async oldest() {
      const [row] = await db.select({ t: min(time) }).from(table);
      const t = row?.t as unknown;
      return t instanceof Date ? t : typeof t === 'string' ? new Date(t) : null;
    },
  };
}
