/**
 * `hf-audit migrate-partitions`: moves an unpartitioned `audit.events` (a database that held
 * events before migration 0002) into day partitions while the replicas keep writing. It is an
 * operator's step, run once every replica runs a version that writes with `ON CONFLICT DO
 * NOTHING` (this one and later): a replica never rewrites a large table at startup.
 *
 * 1. `audit.events_partitioned` is created, with a partition for every day from the oldest event
 *    to three days ahead, and statement triggers on the old table mirror every write made from
 *    then on (inserts, erasures, purges) into it.
 * 2. The rows are copied in batches in id order. Each batch and its progress mark commit
 *    together (`audit.partition_migration`), so a run killed at any point resumes where it
 *    stopped; each batch takes FOR SHARE row locks, so an erasure racing the copy of its row
 *    waits for it and is then mirrored, never lost.
 * 3. In one short transaction under the old table's lock: the last rows, the triggers dropped,
 *    the partitioned table renamed into place. The old one stays as `audit.events_legacy` for
 *    the operator to drop once `hf-audit verify` passes (or is dropped with `dropLegacy`).
 */
import { resultRows, type Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import { addDays, ensureDayPartitions, eventsLayout } from './partitions.js';

export interface MigratePartitionsOptions {
  /** Rows copied per statement. Default 10 000. */
  batchSize?: number | undefined;
  /** Stop after this many batches (the rest on the next run). Default: no limit. */
  maxBatches?: number | undefined;
  /** Drop the old table after the swap instead of keeping it as `audit.events_legacy`. */
  dropLegacy?: boolean | undefined;
  /** How long the swap may wait for the old table's lock, ms. Default 10 000. */
  lockTimeoutMs?: number | undefined;
  onProgress?: ((copied: number) => void) | undefined;
  now?: (() => Date) | undefined;
}

export interface MigratePartitionsResult {
  /** `already`: nothing to do; `partial`: stopped at `maxBatches` (run again); `done`: swapped. */
  status: 'already' | 'partial' | 'done';
  /** Rows copied so far, over every run. */
  copied: number;
  /** Whether the old table was kept as audit.events_legacy. */
  legacyKept: boolean;
}

const TRIGGERS = [
  ['hf_mirror_insert', 'INSERT', 'NEW TABLE AS new_rows'],
  ['hf_mirror_update', 'UPDATE', 'NEW TABLE AS new_rows'],
  ['hf_mirror_delete', 'DELETE', 'OLD TABLE AS old_rows'],
] as const;

const one = <T>(result: unknown): T | undefined => resultRows<T>(result)[0];

export async function migratePartitions(
  db: Database,
  o: MigratePartitionsOptions = {},
): Promise<MigratePartitionsResult> {
  const batchSize = o.batchSize ?? 10_000;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw Object.assign(new RangeError('batchSize must be an integer from 1 to 100000'), {
      code: 'HF_AUDIT_INVALID_OPTION',
    });
  const now = o.now ?? (() => new Date());
  if ((await eventsLayout(db)) === 'partitioned') return { status: 'already', copied: 0, legacyKept: false };

  // 1. The target, its days, the mirror triggers and the progress row: idempotent, so a rerun passes through.
  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    if (
      !one<{ r: string | null }>(await t.execute(sql`select to_regclass('audit.events_partitioned')::text as r`))?.r
    ) {
      await t.execute(sql`select audit.hf_create_partitioned_events('events_partitioned')`);
    }
    const today = now().toISOString().slice(0, 10);
    const oldest =
      one<{ day: string | null }>(await t.execute(sql`select day::text as day from audit.events order by id limit 1`))
        ?.day ?? today;
    for (let from = addDays(oldest, -1); from <= addDays(today, 3); from = addDays(from, 366)) {
      const through = addDays(from, 365);
      await ensureDayPartitions(
        t,
        from,
        through < addDays(today, 3) ? through : addDays(today, 3),
        'events_partitioned',
      );
    }
    for (const [name, event, ref] of TRIGGERS) {
      const exists = one<{ n: number }>(
        await t.execute(
          sql`select count(*)::int as n from pg_trigger where tgrelid = 'audit.events'::regclass and tgname = ${name}`,
        ),
      );
      if (!exists?.n)
        await t.execute(
          sql.raw(
            `CREATE TRIGGER ${name} AFTER ${event} ON audit.events REFERENCING ${ref} FOR EACH STATEMENT EXECUTE FUNCTION audit.${name}()`,
          ),
        );
    }
    await t.execute(sql`insert into audit.partition_migration (id) values (true) on conflict (id) do nothing`);
  });

  // 2. Batches in id order, each committed with its progress mark.
  let copied = Number(
    one<{ copied: string }>(
      await db.execute(sql`select copied::text as copied from audit.partition_migration where id`),
    )?.copied ?? 0,
  );
  for (let batches = 0; ; batches++) {
    if (o.maxBatches !== undefined && batches >= o.maxBatches) return { status: 'partial', copied, legacyKept: true };
    const n = await copyBatch(db, batchSize);
    copied += n;
    o.onProgress?.(copied);
    if (n < batchSize) break;
  }

  // 3. The swap, under the old table's lock: nothing can be written to it meanwhile.
  const timeout = Math.max(1, Math.trunc(o.lockTimeoutMs ?? 10_000));
  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    await t.execute(sql.raw(`set local lock_timeout = ${timeout}`));
    await t.execute(sql`lock table audit.events in access exclusive mode`);
    for (let n = batchSize; n === batchSize;) {
      n = await copyBatch(t, batchSize);
      copied += n;
    }
    for (const [name] of TRIGGERS) await t.execute(sql.raw(`DROP TRIGGER IF EXISTS ${name} ON audit.events`));
    await t.execute(sql`select audit.hf_swap_partitioned_events('events_partitioned', true)`);
    if (o.dropLegacy) await t.execute(sql`drop table audit.events_legacy`);
    await t.execute(sql`update audit.partition_migration set finished_at = now() where id`);
  });
  o.onProgress?.(copied);
  return { status: 'done', copied, legacyKept: !o.dropLegacy };
}

/** Copies the next batch after the progress mark; how many rows it copied. */
async function copyBatch(db: Database, batchSize: number): Promise<number> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    const mark =
      one<{ last: string | null }>(
        await t.execute(sql`select last_id::text as last from audit.partition_migration where id for update`),
      )?.last ?? null;
    const after = mark ? sql`where id > ${mark}::uuid` : sql``;
    const span = one<{ first: string | null; last: string | null }>(
      await t.execute(
        sql`select min(day)::text as first, max(day)::text as last from (select day from audit.events ${after} order by id limit ${batchSize}) b`,
      ),
    );
    if (!span?.first) return 0;
    await ensureDayPartitions(t, span.first, span.last!, 'events_partitioned');
    const row = one<{ n: number; last: string | null }>(
      await t.execute(sql`with b as (select * from audit.events ${after} order by id limit ${batchSize} for share),
        ins as (insert into audit.events_partitioned select * from b on conflict do nothing)
        select count(*)::int as n, (select id::text from b order by id desc limit 1) as last from b`),
    );
    const n = row?.n ?? 0;
    if (n)
      await t.execute(
        sql`update audit.partition_migration set last_id = ${row!.last}::uuid, copied = copied + ${n} where id`,
      );
    return n;
  });
}
