/**
 * One batch written with the checkpoints of the segments it touches, within the write timeout,
 * creating its days' partitions first when they may not exist: each day three days ahead of the
 * newest one written, so midnight never waits on DDL; and on an insert into a day with no
 * partition (an old spill file, a clock far ahead), that day, then once more.
 */
import { withTimeout, type SigningKey } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { batchCheckpoints } from './checkpoints.js';
import type { AuditEvent } from './event.js';
import { addDays, ensureDayPartitions, isMissingPartition } from './partitions.js';
import type { Item } from './spill.js';
import { writeBatch, type Checkpoint } from './store.js';

export interface BatchOptions {
  db: Database;
  checkpointKeys: readonly SigningKey[];
  writeTimeoutMs: number;
  onCheckpoint?: ((checkpoint: Checkpoint) => void) | undefined;
}

export class BatchWriter {
  readonly #o: BatchOptions;
  readonly #stats: { written: number; batches: number };
  /** Day partitions exist through this UTC day (created ahead by #store). */
  #partitionsThrough: string | null = null;

  constructor(options: BatchOptions, stats: { written: number; batches: number }) {
    this.#o = options;
    this.#stats = stats;
  }

  async write(items: readonly Item[]): Promise<void> {
    const rows = items.filter((i): i is AuditEvent => !('close' in i));
    const marks = batchCheckpoints(this.#o.checkpointKeys, items);
    await withTimeout(this.#store(rows, marks), this.#o.writeTimeoutMs, () => Object.assign(new Error('audit write timed out'), { code: 'HF_AUDIT_WRITE_TIMEOUT' }));
    this.#stats.written += rows.length;
    this.#stats.batches++;
    if (this.#o.onCheckpoint) for (const c of marks) this.#o.onCheckpoint(c);
  }

  /**
   * Writes a batch, creating its days' partitions first when they may not exist: each day three
   * days ahead of the newest one written, so midnight never waits on DDL; and on an insert into a
   * day with no partition (an old spill file, a clock far ahead), that day, then once more.
   */
  async #store(rows: readonly AuditEvent[], marks: readonly Checkpoint[]): Promise<void> {
    let newest = '';
    for (const r of rows) if (r.day > newest) newest = r.day;
    if (newest && (this.#partitionsThrough === null || newest > this.#partitionsThrough)) {
      const through = addDays(newest, 3);
      await ensureDayPartitions(this.#o.db, newest, through);
      this.#partitionsThrough = through;
    }
    try {
      await writeBatch(this.#o.db, rows, marks);
    } catch (error) {
      if (!isMissingPartition(error)) throw error;
      let oldest = newest;
      for (const r of rows) if (r.day < oldest) oldest = r.day;
      await ensureDayPartitions(this.#o.db, oldest, newest);
      await writeBatch(this.#o.db, rows, marks);
    }
  }
}
