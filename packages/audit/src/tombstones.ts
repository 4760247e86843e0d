/**
 * Tombstones of erased subjects (issue 30 item 5): an erasure reaches the events written after it.
 *
 * An event still in a writer's queue, in a spill file or on another replica when its subject is
 * erased used to be inserted afterwards with the subject. Now the erasure writes a tombstone (a
 * keyed hash of the subject id, HMAC-SHA256 under a key derived from each checkpoint key, never the
 * id) before it lists the subject's events, and every writer path (the UNNEST statement, the binary
 * COPY, the staging-table retry and the spill replay, which all go through batches.ts) asks, inside
 * the transaction that inserts a batch, which of the batch's subjects are tombstoned: one lookup of
 * the batch's distinct subjects, never a query per event. An event of a tombstoned subject that
 * occurred before its tombstone is then inserted erased, exactly as erasure leaves an event in
 * place (store.ts: subject, IP, user agent, salt, and for formats 2 and 3 path, resource and
 * details nulled; format 3's digest stored), tagged with a fresh erasure id, and the writer appends
 * the chained `audit.subject.erased` record that states those events (count, id range, SHA-256 of
 * the ids), so verify still holds. The details of that record are written in the batch's own
 * transaction (`audit.late_erasures`): a record the writer could not append (a crash right after
 * the commit) is appended later by any replica (`pendingErasureRecords`).
 *
 * Ordering across replicas: `audit.tombstones_for` takes an advisory lock shared and reads the
 * tombstones with its own snapshot; `audit.add_subject_tombstones` takes it exclusively. So a
 * tombstone commits only after every batch that could have missed it has committed, and the
 * erasure, which lists the subject's events after the tombstone, finds those.
 *
 * Tombstones are kept for the longest a buffered event can wait (`tombstoneDays`: the server-log
 * period plus a day), then purged; a writer erases any event older than that as it inserts it.
 */
import type { SigningKey } from '@harakaflow/core';
import { pgErrorCode, resultRows, type Database } from '@harakaflow/db';
import { sql, type SQL } from 'drizzle-orm';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { pgArray } from './pg-array.js';

const LABEL = 'hf-audit-subject-tombstone-v1';
const CACHE = 10_000;

/**
 * The keyed hashes of subject ids (hex), one per checkpoint key, with a bounded cache (subjects repeat from batch to
 * batch).
 */
export class SubjectKeys {
  readonly #keys: Buffer[];
  readonly #cache = new Map<string, string[]>();

  constructor(keys: readonly SigningKey[]) {
    // A key of its own per checkpoint key: a tombstone is no checkpoint MAC, nor the other way round.
    this.#keys = keys.map((k) => createHmac('sha256', k).update(LABEL).digest());
  }

  of(subject: string): string[] {
    let hit = this.#cache.get(subject);
    if (hit) return hit;
    hit = this.#keys.map((k) => createHmac('sha256', k).update(subject, 'utf8').digest('hex'));
    if (this.#cache.size >= CACHE) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(subject, hit);
    return hit;
  }
}

/**
 * A batch's subjects as the tombstone lookup takes them: each keyed hash, its subject, and when the batch's first event
 * of it occurred.
 */
export interface SubjectCheck {
  keys: string[];
  subjects: string[];
  earliest: string[];
}

/** What a batch writer needs to apply tombstones to one batch. */
export interface Tombstoning {
  /** The batch's subjects (null: none has one). */
  check: SubjectCheck | null;
  /**
   * Events that occurred before this (epoch ms) are erased whatever their subject: past the longest wait (-Infinity: no
   * such rule).
   */
  before: number;
  /** Some event of the batch occurred before `before`. */
  old: boolean;
}

/** The lookup's form of a batch's subjects (subject -> its earliest event, epoch ms). */
export function subjectCheck(keys: SubjectKeys, earliest: ReadonlyMap<string, number>): SubjectCheck {
  const check: SubjectCheck = { keys: [], subjects: [], earliest: [] };
  for (const [subject, ms] of earliest) {
    const at = new Date(ms).toISOString();
    for (const key of keys.of(subject)) {
      check.keys.push(key);
      check.subjects.push(subject);
      check.earliest.push(at);
    }
  }
  return check;
}

/** The tombstones of a batch's subjects, taking the tombstone lock (shared) for the caller's transaction. */
export function tombstoneLookup(check: SubjectCheck): SQL {
  return sql`select tombstone, erased_ms from audit.tombstones_for(${pgArray(check.keys, (k) => `\\x${k}`)}::bytea[], ${pgArray(check.earliest, (t) => t)}::timestamptz[])`;
}

/** Which events of a batch are inserted erased, under which erasure id. */
export class ErasePlan {
  readonly erasureId = randomUUID();
  readonly at = new Date();
  /** Subject -> its latest tombstone (epoch ms): its events that occurred until then are erased. */
  readonly #subjects: Map<string, number>;
  readonly #before: number;

  constructor(subjects: Map<string, number>, before: number) {
    this.#subjects = subjects;
    this.#before = before;
  }

  erases(subject: string | null | undefined, occurredMs: number): boolean {
    if (occurredMs < this.#before) return true;
    if (subject == null) return false;
    const until = this.#subjects.get(subject);
    return until !== undefined && occurredMs <= until;
  }
}

/** The plan from what the lookup found (null: nothing of the batch is erased). */
export function erasePlan(
  found: readonly { tombstone: string; erased_ms: number | string }[],
  t: Tombstoning,
): ErasePlan | null {
  const subjects = new Map<string, number>();
  if (found.length && t.check) {
    const byKey = new Map<string, string>();
    t.check.keys.forEach((k, i) => byKey.set(k, t.check!.subjects[i]!));
    for (const row of found) {
      const subject = byKey.get(row.tombstone);
      if (subject === undefined) continue;
      const ms = Number(row.erased_ms);
      subjects.set(subject, Math.max(subjects.get(subject) ?? -Infinity, ms));
    }
  }
  return subjects.size || t.old ? new ErasePlan(subjects, t.before) : null;
}

/** SHA-256 over ids joined by newlines: what an erasure record states about the events it erased. */
export function idsDigest(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\n')).digest('hex');
}

/** The details of the erasure record that states the events a batch inserted erased. */
export interface LateErasure {
  erasureId: string;
  count: number;
  firstId: string;
  lastId: string;
  idsSha256: string;
  /**
   * Erased by the writer as it inserted them (the subject's erasure came first, or the events were past the longest
   * wait).
   */
  atInsert: true;
}

export function lateErasure(erasureId: string, ids: readonly string[]): LateErasure {
  const sorted = [...ids].sort();
  return {
    erasureId,
    count: sorted.length,
    firstId: sorted[0]!,
    lastId: sorted.at(-1)!,
    idsSha256: idsDigest(sorted),
    atInsert: true,
  };
}

/** The row that keeps a late erasure's record until it is appended (in the batch's transaction). */
export function lateErasureRow(late: LateErasure, writer: string): SQL {
  return sql`insert into audit.late_erasures (erasure_id, writer, details) values (${late.erasureId}::uuid, ${writer}, ${JSON.stringify(late)}::jsonb)`;
}

/** A database without migration 0005 (a test at an earlier layout): no tombstone can exist there. */
export const isNoTombstones = (error: unknown): boolean => {
  const code = pgErrorCode(error);
  return (
    (code === '42883' || code === '42P01') &&
    /tombstone|late_erasures/i.test(
      String((error as Error)?.message) + String((error as { cause?: Error })?.cause?.message),
    )
  );
};

/**
 * Writes the tombstones of a subject (its keyed hashes), after every batch in flight on any
 * replica has committed (the exclusive lock waits for them). Returns when they were stamped.
 */
export async function addTombstones(db: Database, keys: readonly string[]): Promise<void> {
  await db.execute(sql`select audit.add_subject_tombstones(${pgArray(keys, (k) => `\\x${k}`)}::bytea[])`);
}

/**
 * Late erasures whose record is not in the log yet, written more than `olderThanMs` ago (a writer
 * appends its own at once; older ones were left by a writer that stopped first).
 */
export async function pendingErasureRecords(db: Database, olderThanMs: number): Promise<LateErasure[]> {
  const rows = resultRows<{ details: LateErasure | string }>(
    await db.execute(sql`select p.details from audit.late_erasures p
      where p.created_at < now() - make_interval(secs => ${olderThanMs / 1000}::float8)
        and not exists (select 1 from audit.events e where e.kind = 'security' and e.action = 'audit.subject.erased' and e.details->>'erasureId' = p.erasure_id::text)
      order by p.created_at limit 1000`),
  );
  return rows.map((r) => (typeof r.details === 'string' ? (JSON.parse(r.details) as LateErasure) : r.details));
}

/** Purges tombstones and late-erasure rows older than `keepDays` days (at least 8). How many tombstones went. */
export async function purgeTombstones(db: Database, keepDays: number): Promise<number> {
  const [row] = resultRows<{ n: number }>(
    await db.execute(sql`select audit.purge_subject_tombstones(${keepDays}::int4) as n`),
  );
  return Number(row?.n ?? 0);
}
