/**
 * A lease row: one holder at a time across replicas for a job that must run once (the retention
 * run, a mailbox's reader). Taken or renewed in one statement (`INSERT ... ON CONFLICT DO UPDATE
 * ... WHERE holder = me OR until < now`), never a session advisory lock: the work runs on a pool
 * (a transaction pooler included), statement by statement, and a session lock would pin a
 * connection for as long as the job. A holder that dies leaves its lease to run out; the next one
 * takes it then.
 */
import { and, eq, lt, or } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from './connect.js';

/** A table with a lease: its key column, `holder` (text) and `until` (timestamptz) properties. */
export type LeaseTable = PgTable & { holder: PgColumn; until: PgColumn };

export interface LeaseOptions<T extends LeaseTable> {
  table: T;
  /** The key column and this lease's key in it (the row's other columns take their defaults when it is made). */
  key: PgColumn;
  id: unknown;
  /** Who takes it (a random id per process or runner). */
  holder: string;
  now: Date;
  /** How long it lasts, ms. */
  ms: number;
}

/** Takes or renews the lease; false when another holder's has not run out. */
export async function takeLease<T extends LeaseTable>(db: Database, o: LeaseOptions<T>): Promise<boolean> {
  const until = new Date(o.now.getTime() + o.ms);
  const keyName = Object.entries(o.table).find(([, column]) => column === o.key)?.[0];
  if (!keyName) throw new TypeError('takeLease: key must be a column of table');
  const got = await db
    .insert(o.table)
    .values({ [keyName]: o.id, holder: o.holder, until } as never)
    .onConflictDoUpdate({
      target: o.key,
      set: { holder: o.holder, until } as never,
      where: or(eq(o.table.holder, o.holder), lt(o.table.until, o.now)),
    })
    .returning({ holder: o.table.holder });
  return got[0]?.holder === o.holder;
}

/** Gives the lease back (it runs out now), if this holder has it. */
export async function releaseLease<T extends LeaseTable>(
  db: Database,
  o: Pick<LeaseOptions<T>, 'table' | 'key' | 'id' | 'holder'>,
): Promise<void> {
  await db
    .update(o.table)
    .set({ until: new Date(0) } as never)
    .where(and(eq(o.table.holder, o.holder), eq(o.key, o.id)));
}
