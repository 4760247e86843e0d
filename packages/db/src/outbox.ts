/**
 * What every outbox of the kit shares (webhook deliveries, notifications): claiming due rows across
 * replicas, the retry schedule, and the loop that runs a dispatcher in each replica.
 *
 * - `claimDue` claims up to `limit` due rows in one statement: `UPDATE ... WHERE id IN (SELECT ...
 *   FOR UPDATE SKIP LOCKED)`, counting the attempt and moving `next_attempt_at` to the end of a
 *   lease, so two replicas never claim one row, and a replica that dies mid-send releases its
 *   claim when the lease ends (the row is due again).
 * - `retryDelay` is a schedule with up to 10% jitter, so retries of many rows do not arrive together.
 * - `startDispatchLoop` runs one batch at a time: at once again after a full batch, else after the
 *   interval; `stop()` waits for the batch in flight.
 */
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from './connect.js';

/** An outbox table: its JavaScript properties `id`, `status`, `attempts` and `nextAttemptAt`. */
export type OutboxTable = PgTable & { id: PgColumn; status: PgColumn; attempts: PgColumn; nextAttemptAt: PgColumn };

export interface ClaimOptions {
  /** The status of a row waiting to be sent. */
  pending: string;
  now: Date;
  /** Until when a claimed row is not due again: past the longest a send can take. */
  leaseUntil: Date;
  limit: number;
  /** A further condition on the rows claimed. */
  where?: SQL | undefined;
}

/** Claims due rows (oldest due first), counting the attempt; returns them as they now are. */
export async function claimDue<T extends OutboxTable>(
  db: Database,
  table: T,
  o: ClaimOptions,
): Promise<T['$inferSelect'][]> {
  const due = db
    .select({ id: table.id })
    .from(table as PgTable)
    .where(
      and(eq(table.status, o.pending), sql`${table.nextAttemptAt} <= ${o.now.toISOString()}::timestamptz`, o.where),
    )
    .orderBy(asc(table.nextAttemptAt))
    .limit(o.limit)
    .for('update', { skipLocked: true });
  const claimed = await db
    .update(table as PgTable)
    .set({ attempts: sql`${table.attempts} + 1`, nextAttemptAt: o.leaseUntil } as never)
    .where(inArray(table.id, due))
    .returning();
  return claimed as T['$inferSelect'][];
}

/** The delay before the next attempt after `attempts` failed ones, or null when none is left. */
export function retryDelay(
  attempts: number,
  schedule: readonly number[],
  random: () => number = Math.random,
): number | null {
  if (attempts < 1 || attempts > schedule.length) return null;
  const base = schedule[attempts - 1]!;
  return Math.round(base + base * 0.1 * random());
}

export interface DispatchLoop {
  /** Stops the loop; resolves when the batch in flight is done. */
  stop(): Promise<void>;
  /** Runs a batch now (if none is in flight): a row just queued need not wait for the interval. */
  kick(): void;
}

/** Runs `dispatch(batch)` again and again: at once after a full batch, else after `intervalMs`. */
export function startDispatchLoop(o: {
  intervalMs: number;
  batch: number;
  dispatch: (batch: number) => Promise<number>;
  onError: (error: unknown) => void;
}): DispatchLoop {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;
  const tick = () => {
    timer = null;
    running = o
      .dispatch(o.batch)
      .catch((error: unknown) => {
        o.onError(error);
        return 0;
      })
      .then((n) => {
        running = null;
        if (!stopped) timer = setTimeout(tick, n === o.batch ? 0 : o.intervalMs);
      });
  };
  timer = setTimeout(tick, o.intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    kick() {
      if (stopped || running || !timer) return;
      clearTimeout(timer);
      timer = setTimeout(tick, 0);
    },
  };
}
