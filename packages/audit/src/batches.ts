/**
 * One batch written with the checkpoints of the segments it touches, within the write timeout,
 * creating its days' partitions first when they may not exist: each day three days ahead of the
 * newest one written, so midnight never waits on DDL; and on an insert into a day with no
 * partition (an old spill file, a clock far ahead), that day, then once more.
 *
 * Format-3 events have their interned values (user agent, route, writer) looked up first
 * (intern.ts), then go by binary COPY on Postgres and by UNNEST on PGlite (writes.ts).
 *
 * Every batch (a first attempt, a retry, a spill replay) carries its subjects' keyed hashes, and
 * the statement or transaction that inserts it erases the events of subjects erased since they
 * occurred (tombstones.ts); the erasure records of those are handed to `onErased` once committed.
 */
import { withTimeout, type SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { Sealed } from './chain.js';
import { batchCheckpoints } from './checkpoints.js';
import type { AuditEvent } from './event.js';
import { Event3 } from './format3.js';
import { Interned } from './intern.js';
import { addDays, ensureDayPartitions, isMissingPartition } from './partitions.js';
import type { SegmentClose } from './spill.js';
import { isNoTombstones, SubjectKeys, subjectCheck, type LateErasure, type Tombstoning } from './tombstones.js';
import { internKeys, usesCopy, writeCopy, writeUnnest, type Checkpoint, type CopyMode } from './writes.js';

export interface BatchOptions {
  db: Database;
  checkpointKeys: readonly SigningKey[];
  writeTimeoutMs: number;
  onCheckpoint?: ((checkpoint: Checkpoint) => void) | undefined;
  /** Interned user agents kept per writer (the LRU's size). Default 1000. */
  userAgentCacheSize?: number | undefined;
  /**
   * Format-3 batches on Postgres by binary COPY (true), by UNNEST (false), or COPY unless behind a transaction pooler
   * ('auto', the default).
   */
  copy?: CopyMode | undefined;
  /**
   * The longest a buffered event may wait, in days (the server-log period plus one): an event
   * older than that is inserted erased, whatever its subject, and tombstones older than it are
   * purged. Null or absent: no such rule.
   */
  tombstoneDays?: number | null | undefined;
  /**
   * Called with the erasure records of the events a batch inserted erased, once it committed (even after its write
   * timed out).
   */
  onErased?: ((records: LateErasure[]) => void) | undefined;
  now?: (() => Date) | undefined;
}

/** An item of a batch: a chained event (a view, or format 3's bytes) or a segment's close. */
export type BatchItem = Sealed | SegmentClose;

export class BatchWriter {
  readonly #o: BatchOptions;
  readonly #stats: { written: number; batches: number };
  readonly #copy: boolean;
  /** This writer's interned ids (user agents, routes, writer names). */
  readonly interned: Interned;
  /** The keyed hashes of subject ids that tombstones are written and looked up by. */
  readonly subjectKeys: SubjectKeys;
  /** Day partitions exist through this UTC day (created ahead by #store). */
  #partitionsThrough: string | null = null;

  constructor(options: BatchOptions, stats: { written: number; batches: number }) {
    this.#o = options;
    this.#stats = stats;
    this.#copy = usesCopy(options.db, options.copy);
    this.interned = new Interned(options.userAgentCacheSize);
    this.subjectKeys = new SubjectKeys(options.checkpointKeys);
  }

  /**
   * What the tombstone lookup of a batch needs: its distinct subjects with their earliest event,
   * and whether an event is past the longest wait. One pass; nothing at all for anonymous events.
   */
  #tombstoning(legacy: readonly AuditEvent[], v3: readonly Event3[]): Tombstoning {
    const days = this.#o.tombstoneDays;
    const before = days ? (this.#o.now ? this.#o.now().getTime() : Date.now()) - days * 86_400_000 : -Infinity;
    const earliest = new Map<string, number>();
    let old = false;
    for (const e of legacy) {
      const ms = e.occurredAt.getTime();
      if (ms < before) old = true;
      const s = e.subjectId;
      if (s != null) {
        const t = earliest.get(s);
        if (t === undefined || ms < t) earliest.set(s, ms);
      }
    }
    for (const e of v3) {
      const ms = e.occurredMs;
      if (ms < before) old = true;
      const s = e.input.subjectId;
      if (s != null) {
        const t = earliest.get(s);
        if (t === undefined || ms < t) earliest.set(s, ms);
      }
    }
    return { check: earliest.size ? subjectCheck(this.subjectKeys, earliest) : null, before, old };
  }

  /**
   * Writes a batch. `idempotent`: some of its events may be stored already (a retry after a
   * failed or unacknowledged attempt, a spill replay), so rows already there are skipped.
   */
  async write(items: readonly BatchItem[], idempotent = true): Promise<void> {
    const legacy: AuditEvent[] = [];
    const v3: Event3[] = [];
    for (const i of items) {
      if ('close' in i) continue;
      if (i instanceof Event3) v3.push(i);
      else if (i.chainVersion === 3) {
        // A format-3 event read back from a spill file: its bytes again (chain.ts checked it).
        const e = Event3.fromView(i);
        if (!e)
          throw Object.assign(new Error('audit: a format-3 event is malformed'), { code: 'HF_AUDIT_MALFORMED_EVENT' });
        v3.push(e);
      } else legacy.push(i);
    }
    const marks = batchCheckpoints(this.#o.checkpointKeys, items);
    const stored = this.#store(legacy, v3, marks, idempotent);
    // The records of events inserted erased go to the writer once committed, even after the write timed out.
    stored.then(
      (late) => {
        if (late.length) this.#o.onErased?.(late);
      },
      () => undefined,
    );
    await withTimeout(stored, this.#o.writeTimeoutMs, () =>
      Object.assign(new Error('audit write timed out'), { code: 'HF_AUDIT_WRITE_TIMEOUT' }),
    );
    this.#stats.written += legacy.length + v3.length;
    this.#stats.batches++;
    if (this.#o.onCheckpoint) for (const c of marks) this.#o.onCheckpoint(c);
  }

  /**
   * Writes a batch, creating its days' partitions first when they may not exist: each day three
   * days ahead of the newest one written, so midnight never waits on DDL; and on an insert into a
   * day with no partition (an old spill file, a clock far ahead), that day, then once more.
   */
  async #store(
    legacy: readonly AuditEvent[],
    v3: readonly Event3[],
    marks: readonly Checkpoint[],
    idempotent: boolean,
  ): Promise<LateErasure[]> {
    let newest = '';
    let oldest = '';
    for (const rows of [legacy, v3]) {
      for (const r of rows) {
        if (r.day > newest) newest = r.day;
        if (!oldest || r.day < oldest) oldest = r.day;
      }
    }
    if (newest && (this.#partitionsThrough === null || newest > this.#partitionsThrough)) {
      const through = addDays(newest, 3);
      await ensureDayPartitions(this.#o.db, newest, through);
      this.#partitionsThrough = through;
    }
    const ids = v3.length
      ? { interned: this.interned, found: await this.interned.resolve(this.#o.db, internKeys(v3, this.interned)) }
      : null;
    let tombstones: Tombstoning | null = this.#tombstoning(legacy, v3);
    const once = () =>
      this.#copy && ids && !legacy.length
        ? writeCopy(this.#o.db, v3, marks, ids, idempotent, tombstones)
        : writeUnnest(this.#o.db, legacy, v3, marks, ids, tombstones);
    const attempt = async (): Promise<LateErasure[]> => {
      try {
        return await once();
      } catch (error) {
        // A database at a layout before migration 0005 (a test's) has no tombstone at all.
        if (!tombstones || !isNoTombstones(error)) throw error;
        tombstones = null;
        return once();
      }
    };
    try {
      return await attempt();
    } catch (error) {
      if (!isMissingPartition(error)) throw error;
      await ensureDayPartitions(this.#o.db, oldest, newest);
      return attempt();
    }
  }
}
