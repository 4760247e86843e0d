/**
 * Day partitions of `audit.events` and server-log retention (issue 16 item 4). The DDL is in
 * migration 0002's SECURITY DEFINER functions (a least-privilege role may create days ahead and
 * drop old ones, nothing else); this module calls them and keeps the retention horizon, the signed
 * statement that every day before it was purged on purpose, which verify anchors at.
 *
 * Two layouts work: partitioned by day (every database created with 0002), and the earlier
 * unpartitioned table, which stays until an operator runs `hf-audit migrate-partitions`; the
 * purge then deletes in batches instead of dropping days.
 *
 * Legal holds (issue 30 item 1, migration 0004): the functions read the holds themselves and copy
 * the held subjects' events of a day before it goes; the copies are read-only to the app role, go
 * only once their holds ended (a chained `audit.held.released` first), and each dropped day's
 * record of its copies (count, SHA-256 over ids and hashes) is signed here with the checkpoint key,
 * in the drop's transaction, so verify reports a copy deleted or rewritten without the key.
 */
import { openValue, sealValue, type SigningKey } from '@harakaflow/core';
import { pgErrorCode, resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { AuditPurgeTooRecent } from './errors.js';
import { keepTreeLeaves } from './tree-retention.js';
import { adoptHeldDays, releaseHeldCopies, signHeldDays, type ChainedRecorder } from './partitions-held.js';

// verify.ts reads the held-copy records from here.
export { HELD_RELEASE_ACTION, heldDays, heldDayValid, type ChainedRecorder } from './partitions-held.js';

export type EventsLayout = 'partitioned' | 'unpartitioned';

const DAY_MS = 86_400_000;
/** The UTC day `days` after `day` (YYYY-MM-DD). */
export const addDays = (day: string, days: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

export async function eventsLayout(db: Database): Promise<EventsLayout> {
  const [row] = resultRows<{ relkind: string }>(
    await db.execute(
      sql`select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'audit' and c.relname = 'events'`,
    ),
  );
  return row?.relkind === 'p' ? 'partitioned' : 'unpartitioned';
}

/** Creates the missing day partitions of [first, last] (a no-op on the unpartitioned layout); how many it created. */
export async function ensureDayPartitions(
  db: Database,
  first: string,
  last: string,
  parent: 'events' | 'events_partitioned' = 'events',
): Promise<number> {
  try {
    const [row] = resultRows<{ n: number }>(
      await db.execute(sql`select audit.ensure_day_partitions(${first}::date, ${last}::date, ${parent}) as n`),
    );
    return Number(row?.n ?? 0);
  } catch (error) {
    // A database whose audit schema predates migration 0002 (unpartitioned, no such function).
    if (pgErrorCode(error) === '42883') return 0;
    throw error;
  }
}

/** The days that have a partition, oldest first. */
export async function dayPartitions(db: Database): Promise<string[]> {
  const rows = resultRows<{ name: string }>(
    await db.execute(sql`select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'audit.events'::regclass and c.relname ~ '^events_[0-9]{8}$' order by c.relname`),
  );
  return rows.map((r) => `${r.name.slice(7, 11)}-${r.name.slice(11, 13)}-${r.name.slice(13, 15)}`);
}

/** True when `error` is an insert into a day that has no partition. */
export const isMissingPartition = (error: unknown): boolean =>
  pgErrorCode(error) === '23514' &&
  /partition/i.test(String((error as Error)?.message) + String((error as { cause?: Error })?.cause?.message));

const HORIZON = 'hf-audit-horizon';

export function horizonMac(keys: readonly SigningKey[], day: string): string {
  const sealed = sealValue(HORIZON, day, keys[0]!);
  return sealed.slice(sealed.lastIndexOf('.') + 1);
}

/** The retention horizon (days before it were purged on purpose), and whether its signature holds under `keys`. */
export async function readHorizon(
  db: Database,
  keys: readonly SigningKey[],
): Promise<{ day: string; valid: boolean } | null> {
  const [row] = resultRows<{ day: string; mac: string }>(
    await db.execute(sql`select day::text as day, mac from audit.horizon where id`),
  );
  if (!row) return null;
  return { day: row.day, valid: openValue(HORIZON, `${row.day}.${row.mac}`, keys, Infinity) !== null };
}

async function advanceHorizon(db: Database, keys: readonly SigningKey[], day: string): Promise<void> {
  await db.execute(sql`insert into audit.horizon (id, day, mac) values (true, ${day}::date, ${horizonMac(keys, day)})
    on conflict (id) do update set day = excluded.day, mac = excluded.mac, updated_at = now() where audit.horizon.day < excluded.day`);
}

export interface ServerLogPurge {
  db: Database;
  checkpointKeys: readonly SigningKey[];
  /** Events of days before this UTC day go (`serverLogsBeforeDay(cutoff)`). */
  beforeDay: string;
  /**
   * Ignored (kept for callers of the previous version): the database functions read the legal
   * holds themselves (`retention.holds`), so no caller can leave a held subject out (issue 30 item 1).
   */
  heldSubjects?: readonly string[] | undefined;
  limit: number;
  dryRun: boolean;
  /** How long a drop may wait for the table lock before the step fails (and the run retries later). Default 5 s. */
  lockTimeoutMs?: number | undefined;
  /**
   * Appends a chained security event and resolves once it is committed (the plugin's writer, sync).
   * Releasing held copies whose holds ended, and signing records of days dropped outside the
   * runner, need it: without it, both wait for a purge that has one.
   */
  record?: ChainedRecorder | undefined;
}

/**
 * Where server-log retention stops for a period's cutoff (now − N days, issue 30 item 3): the UTC
 * day after the cutoff's. The log keeps today and the N − 1 whole days before it, so no event kept
 * is older than N days, and a day goes as soon as it leaves that window.
 */
export function serverLogsBeforeDay(cutoff: Date): string {
  return addDays(cutoff.toISOString().slice(0, 10), 1);
}

/**
 * One step of server-log retention: on the partitioned layout, the oldest day before `beforeDay`
 * is dropped whole (one partition a step); on the unpartitioned one, up to `limit` events are
 * deleted. Either way the database function copies the held subjects' events first (it reads the
 * holds), writes the day's record of its held copies, which is signed here in the same
 * transaction, and the horizon moves forward in it too, so a purge never reads as tampering. The
 * last step releases the held copies whose holds ended and signs the records of days dropped
 * outside the runner (each under a chained event), then purges unreferenced user agents.
 */
export async function purgeServerLogs(o: ServerLogPurge): Promise<{ rows: number; partitions: number; done: boolean }> {
  if (o.beforeDay > addDays(new Date().toISOString().slice(0, 10), -6)) throw new AuditPurgeTooRecent(o.beforeDay);
  const layout = await eventsLayout(o.db);
  const timeout = Math.max(1, Math.trunc(o.lockTimeoutMs ?? 5000));
  if (o.dryRun) {
    const [row] = resultRows<{ n: string }>(
      await o.db.execute(sql`select count(*)::text as n from audit.events where day < ${o.beforeDay}::date`),
    );
    const partitions = layout === 'partitioned' ? (await dayPartitions(o.db)).filter((d) => d < o.beforeDay).length : 0;
    return { rows: Number(row?.n ?? 0), partitions, done: true };
  }
  if (layout === 'unpartitioned') {
    const rows = await o.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      for (const d of await treeDaysBefore(t, o.beforeDay)) await keepTreeLeaves(t, d);
      const [row] = resultRows<{ purged: number; days: string[] | string | null }>(
        await t.execute(
          sql`select purged, days::text[] as days from audit.purge_days_before(${o.beforeDay}::date, ${o.limit}::int)`,
        ),
      );
      await signHeldDays(t, o.checkpointKeys, textArray(row?.days));
      const n = Number(row?.purged ?? 0);
      if (n < o.limit) await advanceHorizon(t, o.checkpointKeys, o.beforeDay);
      return n;
    });
    const done = rows < o.limit;
    if (done) await finishPurge(o);
    return { rows, partitions: 0, done };
  }
  const days = (await dayPartitions(o.db)).filter((d) => d < o.beforeDay);
  if (!days.length) {
    // Days before the cutoff dropped by someone else (the functions copied their held subjects):
    // the horizon moves past them all the same, so their checkpoints do not read as missing events.
    if (await checkpointsBefore(o.db, o.beforeDay)) await advanceHorizon(o.db, o.checkpointKeys, o.beforeDay);
    await finishPurge(o);
    return { rows: 0, partitions: 0, done: true };
  }
  const day = days[0]!;
  const rows = await o.db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    // A drop takes the table's strongest lock for a moment: it queues behind a long read rather
    // than stalling every writer behind it, and fails (retried by the next run) if it waits long.
    await t.execute(sql.raw(`set local lock_timeout = ${timeout}`));
    // The leaf hashes the Merkle tree's proofs still need from that day (issue 33), in the same transaction.
    await keepTreeLeaves(t, day);
    const [row] = resultRows<{ n: string | null }>(
      await t.execute(sql`select audit.drop_day_partition(${day}::date)::text as n`),
    );
    await signHeldDays(t, o.checkpointKeys, [day]);
    await advanceHorizon(t, o.checkpointKeys, addDays(day, 1));
    return Number(row?.n ?? 0);
  });
  const done = days.length === 1;
  if (done) await finishPurge(o);
  return { rows, partitions: 1, done };
}

async function finishPurge(o: ServerLogPurge): Promise<void> {
  if (o.record) {
    await releaseHeldCopies(o.db, o.record);
    await adoptHeldDays(o.db, o.checkpointKeys, o.record);
  }
  await purgeUserAgents(o.db);
}

/** A text[] as either driver returns it (an array, or its literal). */
function textArray(v: string[] | string | null | undefined): string[] {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return v
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter(Boolean);
}

/**
 * The days before `day` whose events are still stored and in the tree (the unpartitioned layout deletes them in
 * batches).
 */
async function treeDaysBefore(db: Database, day: string): Promise<string[]> {
  return resultRows<{ day: string }>(
    await db.execute(sql`select distinct r.day::text as day from audit.tree_ranges r where r.day < ${day}::date
      and r.day >= coalesce((select h.day from audit.horizon h where h.id), '-infinity'::date) order by 1`),
  ).map((r) => r.day);
}

async function checkpointsBefore(db: Database, day: string): Promise<boolean> {
  return resultRows(await db.execute(sql`select 1 from audit.checkpoints where day < ${day}::date limit 1`)).length > 0;
}

/**
 * Interned user agents (format 3) that no event and no held copy references any more, past the
 * day a writer may still hold their id (`audit.purge_user_agents`): the last step of each purge,
 * so an erased subject's rare user agent goes at the next run, a day after its last use at most.
 * How many went.
 */
export async function purgeUserAgents(db: Database): Promise<number> {
  const [row] = resultRows<{ n: number }>(await db.execute(sql`select audit.purge_user_agents() as n`));
  return Number(row?.n ?? 0);
}

/** The oldest event's time (admin view), on either layout. */
export async function oldestEvent(db: Database): Promise<Date | null> {
  const [row] = resultRows<{ at: string | Date | null }>(
    await db.execute(sql`select occurred_at as at from audit.events order by id limit 1`),
  );
  return row?.at ? new Date(row.at) : null;
}
