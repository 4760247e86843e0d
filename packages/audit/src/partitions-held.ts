/**
 * Held copies (issue 30 item 1): the signed record of each day's copies of held subjects' events,
 * their release once the holds end, and the adoption of records no runner of this version signed.
 * Server-log retention (partitions.ts) signs a day's record in the transaction that purges it.
 */
import { openValue, sealValue, type SigningKey } from '@harakaflow/core';
import { pgErrorCode, resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { createHash, randomUUID } from 'node:crypto';
import { pgArray } from './pg-array.js';

/** A security event with sync durability, chained by the audit writer. */
export type ChainedRecorder = (event: { action: string; details: Record<string, unknown> }) => Promise<void>;

export const HELD_RELEASE_ACTION = 'audit.held.released';
export const HELD_ADOPT_ACTION = 'audit.held.adopted';
const HELD_DAY = 'hf-audit-held-day';

export interface HeldDay {
  day: string;
  count: number;
  idsSha256: string;
  mac: string | null;
}

const heldDayPayload = (r: Omit<HeldDay, 'mac'>) => `${r.day}|${r.count}|${r.idsSha256}`;

/** The signature of a day's held-copy record (the checkpoint key, its own purpose). */
export function heldDayMac(keys: readonly SigningKey[], r: Omit<HeldDay, 'mac'>): string {
  const sealed = sealValue(HELD_DAY, heldDayPayload(r), keys[0]!);
  return sealed.slice(sealed.lastIndexOf('.') + 1);
}

export function heldDayValid(keys: readonly SigningKey[], r: HeldDay): boolean {
  return r.mac !== null && openValue(HELD_DAY, `${heldDayPayload(r)}.${r.mac}`, keys, Infinity) !== null;
}

/** Every day's record of its held copies, oldest first. */
export async function heldDays(db: Database): Promise<HeldDay[]> {
  const rows = resultRows<{ day: string; count: string | number; ids_sha256: string; mac: string | null }>(
    await db.execute(
      sql`select day::text as day, count::text as count, ids_sha256, mac from audit.held_days order by day`,
    ),
  );
  return rows.map((r) => ({ day: r.day, count: Number(r.count), idsSha256: r.ids_sha256, mac: r.mac }));
}

/** Signs the unsigned records of `days` (written by the function just called, in this transaction). */
export async function signHeldDays(db: Database, keys: readonly SigningKey[], days: readonly string[]): Promise<void> {
  if (!days.length) return;
  const rows = resultRows<{ day: string; count: string | number; ids_sha256: string }>(
    await db.execute(
      sql`select day::text as day, count::text as count, ids_sha256 from audit.held_days where day = any(${pgArray(days, (d) => d)}::date[]) and mac is null`,
    ),
  );
  for (const r of rows) {
    const record = { day: r.day, count: Number(r.count), idsSha256: r.ids_sha256 };
    // `mac` only: all the app role may update there.
    await db.execute(sql`update audit.held_days set mac = ${heldDayMac(keys, record)}
      where day = ${r.day}::date and mac is null and count = ${record.count} and ids_sha256 = ${r.ids_sha256}`);
  }
}

/**
 * Releases the held copies whose holds ended (all, or `subjectId`'s): the database function says
 * which may go (no active hold, and every hold released since the copy was made released through
 * the API, a chained `retention.hold.released`); a chained `audit.held.released` event (release
 * id, count, SHA-256 over the ids) is committed first, and the function refuses a release that has
 * none. Each copy leaves its id, day and hash in `audit.held_released`. How many went.
 */
export async function releaseHeldCopies(db: Database, record: ChainedRecorder, subjectId?: string): Promise<number> {
  let ids: string[];
  try {
    ids = resultRows<{ id: string }>(
      await db.execute(
        sql`select id::text as id from audit.releasable_held_copies(${subjectId ?? null}::text) order by id`,
      ),
    ).map((r) => r.id);
  } catch (error) {
    // A database whose audit schema predates migration 0004 has no held copies of this kind to release.
    if (pgErrorCode(error) === '42883') return 0;
    throw error;
  }
  let released = 0;
  for (let i = 0; i < ids.length; i += 10_000) {
    const chunk = ids.slice(i, i + 10_000);
    const releaseId = randomUUID();
    await record({
      action: HELD_RELEASE_ACTION,
      details: {
        releaseId,
        count: chunk.length,
        firstId: chunk[0]!,
        lastId: chunk.at(-1)!,
        idsSha256: createHash('sha256').update(chunk.join('\n')).digest('hex'),
      },
    });
    const [row] = resultRows<{ n: number }>(
      await db.execute(
        sql`select audit.release_held_copies(${releaseId}::uuid, ${pgArray(chunk, (id) => id)}::uuid[]) as n`,
      ),
    );
    released += Number(row?.n ?? 0);
  }
  return released;
}

/**
 * Signs the records that no runner of this version signed (copies made before it, days dropped by
 * a replica of the previous version or by a direct call): only those whose copies still match
 * them, and under a chained `audit.held.adopted` event naming the days, so an adoption is on the
 * record too. A record whose copies do not match stays unsigned, and verify reports it.
 */
export async function adoptHeldDays(
  db: Database,
  keys: readonly SigningKey[],
  record: ChainedRecorder,
): Promise<string[]> {
  const rows = resultRows<{
    day: string;
    count: string | number;
    ids_sha256: string;
    n: string | number;
    now_sha256: string;
  }>(
    await db.execute(sql`select r.day::text as day, r.count::text as count, r.ids_sha256, s.n::text as n, s.ids_sha256 as now_sha256
      from audit.held_days r cross join lateral audit.held_day_state(r.day) s where r.mac is null order by r.day`),
  );
  const matching = rows.filter((r) => Number(r.count) === Number(r.n) && r.ids_sha256 === r.now_sha256);
  if (!matching.length) return [];
  await record({ action: HELD_ADOPT_ACTION, details: { days: matching.map((r) => r.day), count: matching.length } });
  await signHeldDays(
    db,
    keys,
    matching.map((r) => r.day),
  );
  return matching.map((r) => r.day);
}
