/**
 * One batch written with the checkpoints of the segments it touches, within the write timeout,
 * creating its days' partitions first when they may not exist: each day three days ahead of the
 * newest one written, so midnight never waits on DDL; and on an insert into a day with no
 * partition (an old spill file, a clock far ahead), that day, then once more.
 *
 * Format-3 events have their interned values (user agent, route, writer) looked up first
 * (intern.ts), then go by binary COPY on Postgres and by UNNEST on PGlite (writes.ts).
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
import { canCopy, internKeys, writeCopy, writeUnnest, type Checkpoint } from './writes.js';

export interface BatchOptions {
  db: Database;
  checkpointKeys: readonly SigningKey[];
  writeTimeoutMs: number;
  onCheckpoint?: ((checkpoint: Checkpoint) => void) | undefined;
  /** Interned user agents kept per writer (the LRU's size). Default 1000. */
  userAgentCacheSize?: number | undefined;
  /** Format-3 batches on Postgres by binary COPY (true) or UNNEST (default; see the constructor). */
  copy?: boolean | undefined;
}

/** An item of a batch: a chained event (a view, or format 3's bytes) or a segment's close. */
export type BatchItem = Sealed | SegmentClose;

export class BatchWriter {
  readonly #o: BatchOptions;
  readonly #stats: { written: number; batches: number };
  readonly #copy: boolean;
  /** This writer's interned ids (user agents, routes, writer names). */
  readonly interned: Interned;
  /** Day partitions exist through this UTC day (created ahead by #store). */
  #partitionsThrough: string | null = null;

  constructor(options: BatchOptions, stats: { written: number; batches: number }) {
    this.#o = options;
    this.#stats = stats;
    // Off unless asked for: on postgres.js 3, a COPY whose connection closes mid-write (a Postgres
    // restart) crashes the process from inside the driver (a write scheduled on a socket it has
    // already dropped; the soak found it), and without TCP_NODELAY it is no faster than UNNEST.
    this.#copy = options.copy === true && canCopy(options.db);
    this.interned = new Interned(options.userAgentCacheSize);
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
        if (!e) throw Object.assign(new Error('audit: a format-3 event is malformed'), { code: 'HF_AUDIT_MALFORMED_EVENT' });
        v3.push(e);
      } else legacy.push(i);
    }
    const marks = batchCheckpoints(this.#o.checkpointKeys, items);
    await withTimeout(this.#store(legacy, v3, marks, idempotent), this.#o.writeTimeoutMs, () => Object.assign(new Error('audit write timed out'), { code: 'HF_AUDIT_WRITE_TIMEOUT' }));
    this.#stats.written += legacy.length + v3.length;
    this.#stats.batches++;
    if (this.#o.onCheckpoint) for (const c of marks) this.#o.onCheckpoint(c);
  }

  /**
   * Writes a batch, creating its days' partitions first when they may not exist: each day three
   * days ahead of the newest one written, so midnight never waits on DDL; and on an insert into a
   * day with no partition (an old spill file, a clock far ahead), that day, then once more.
   */
  async #store(legacy: readonly AuditEvent[], v3: readonly Event3[], marks: readonly Checkpoint[], idempotent: boolean): Promise<void> {
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
    const ids = v3.length ? { interned: this.interned, found: await this.interned.resolve(this.#o.db, internKeys(v3, this.interned)) } : null;
    const once = () => (this.#copy && ids && !legacy.length ? writeCopy(this.#o.db, v3, marks, ids, idempotent) : writeUnnest(this.#o.db, legacy, v3, marks, ids));
    try {
      await once();
    } catch (error) {
      if (!isMissingPartition(error)) throw error;
      await ensureDayPartitions(this.#o.db, oldest, newest);
      await once();
    }
  }
}
