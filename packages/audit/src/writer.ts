/**
 * The audit writer: turns inputs into chained events and delivers them at least once.
 *
 * - Each writer instance owns one hash chain, segmented by UTC day (chain.ts has the rules,
 *   event.ts the formulas, checkpoints.ts the signed positions, spill-files.ts the files on disk,
 *   batches.ts one batch's write and its day partitions, replay.ts the replay of spill files).
 *   The writer is the state machine that ties them, in three layers: writer-queue.ts (the state,
 *   the queue, the promises of sync events and flushes), writer-delivery.ts (the batches in
 *   flight, backoff, spilling, replay) and this file (the API: append, flush, close, health).
 * - Events queue in memory and are written in batches (size or interval, whichever comes first),
 *   one statement per batch (store.ts). Inserts are idempotent on the UUIDv7 id, so a batch whose
 *   commit was not acknowledged can be written again.
 * - A failed batch is retried with capped exponential backoff and full jitter. Past `maxBuffered`
 *   events the oldest are spilled to NDJSON files (spill.ts: authenticated with the checkpoint key,
 *   written whole, then renamed, so a crash never leaves half a line) and replayed, then deleted,
 *   once the database answers again. Replay trusts a file only when its MAC verifies, every hash
 *   and link recomputes, and its first item follows an event that is stored or was replayed just
 *   before; a file that fails is moved to `rejected/`, logged and audited once, and never blocks
 *   other writes. Spilling waits until no batch is in flight, so a file always follows what is
 *   committed or spilled before it.
 * - `sync` events resolve when their batch commits and reject as soon as a write fails (fail
 *   closed). The event stays queued: the chain needs it, and it records that the action was attempted.
 * - close() closes the open segment, flushes, and spills whatever the database would not take.
 * - An appended event is only queued (its input and time: issue 29, nothing hashed on the request
 *   path). It is chained ("sealed": id, salt, digest, hash, in append order) when a batch or a
 *   spill file takes it, or when a caller asks for the event itself.
 * - An event whose subject was erased while it waited (in the queue, a spill file, another
 *   replica) is inserted erased (tombstones.ts, issue 30 item 5); the writer then appends the
 *   erasure record that states it.
 */
import type { Database } from '@harakaflow/db';
import { errorCodes, withTimeout } from '@harakaflow/core';
import { viewOf } from './chain.js';
import { AuditUnavailable } from './errors.js';
import type { AuditEvent, AuditEventInput, ChainVersion } from './event.js';
import type { Interned } from './intern.js';
import { ERASURE_ACTION } from './store.js';
import { addTombstones, isNoTombstones, pendingErasureRecords, type LateErasure } from './tombstones.js';
import { WriterDelivery } from './writer-delivery.js';

export { checkpointMac, checkpointValid } from './checkpoints.js';
export type { WriterLogger, WriterOptions } from './writer-queue.js';

export class AuditWriter extends WriterDelivery {
  /**
   * Appends the erasure records of events a batch inserted erased (async: each is kept in `audit.late_erasures` until
   * it is in the log).
   */
  protected recordErasures(records: readonly LateErasure[]): void {
    for (const details of records) {
      try {
        this.append({ kind: 'security', action: ERASURE_ACTION, outcome: 'success', details: { ...details } });
      } catch {
        // Closing: the record is appended from audit.late_erasures by the next writer that starts.
      }
    }
  }

  /**
   * Writes the tombstones of an erased subject (tombstones.ts): from their commit on, every writer
   * of this version, on any replica, inserts erased the subject's events that occurred before it.
   * Waits for the batches in flight on every replica to commit first.
   */
  async tombstone(subjectId: string, db: Database = this.o.db): Promise<void> {
    await addTombstones(db, this.batches.subjectKeys.of(subjectId));
  }

  /**
   * Appends the erasure records of events inserted erased whose record is not in the log (a writer
   * that stopped before appending it), written more than `olderThanMs` ago. How many.
   */
  async recordPendingErasures(olderThanMs = 60_000): Promise<number> {
    const pending = await withTimeout(pendingErasureRecords(this.o.db, olderThanMs), this.o.writeTimeoutMs, () =>
      Object.assign(new Error('audit read timed out'), { code: 'HF_AUDIT_WRITE_TIMEOUT' }),
    );
    this.recordErasures(pending);
    return pending.length;
  }

  /** The chain format this writer's events are in. */
  get chainVersion(): ChainVersion {
    return this.chain.version;
  }

  /** This writer's interned ids (format 3): what it looked up, for tests and the benchmark. */
  get interned(): Interned {
    return this.batches.interned;
  }

  /**
   * What an operator's health check and metrics show: events waiting in memory, bytes waiting on
   * disk, access events dropped and not yet declared, batch writes that failed (since start), and
   * the age of the oldest event not yet committed (in memory or spilled; 0 when none).
   */
  get health(): {
    backlog: number;
    spilledBytes: number;
    dropped: number;
    full: boolean;
    writeFailures: number;
    oldestPendingMs: number;
  } {
    const oldest = Math.min(this.oldestQueued(), this.spilledSince ?? Infinity);
    return {
      backlog: this.buffered,
      spilledBytes: this.files?.bytes ?? 0,
      dropped: this.gap?.count ?? 0,
      full: this.dirFull,
      writeFailures: this.stats.failedBatches,
      oldestPendingMs: oldest === Infinity ? 0 : Math.max(0, this.now().getTime() - oldest),
    };
  }

  /**
   * Measures what an earlier run left in the spill directory (the health check counts it) and
   * starts replaying it now, not at the first new event: a replica that restarts into a quiet
   * hour still delivers, and declares, what its predecessor spilled (issue 28 item 6).
   */
  async start(): Promise<void> {
    // Erasure records a stopped writer could not append (not awaited: the database may be away).
    this.recordPendingErasures().catch((error: unknown) => {
      if (!isNoTombstones(error))
        this.o.logger.warn(
          { err: errorCodes(error) },
          'audit: pending erasure records not checked; the next start or retention run does it',
        );
    });
    if (!this.files) return;
    try {
      await this.files.directory();
    } catch (error) {
      this.o.logger.error({ err: errorCodes(error) }, 'audit: the spill directory cannot be used; nothing replayed');
      return;
    }
    if (this.files.bytes > 0) this.pump(true);
  }

  /**
   * The spill directory is full while the database fails (read on every request in fail-closed mode: no object built).
   */
  get full(): boolean {
    return this.dirFull;
  }

  /**
   * An access event, unless the spill directory is full (issue 13 item 15): then it is counted and
   * dropped, never chained, so the chain has no hole; once writes succeed again one chained
   * `audit.gap` event declares how many were dropped and when. Security events always go through
   * append(). Returns whether the event was kept.
   */
  appendAccess(input: AuditEventInput): boolean {
    if (this.dirFull) {
      const at = this.now();
      this.gap = this.gap ? { count: this.gap.count + 1, from: this.gap.from, to: at } : { count: 1, from: at, to: at };
      this.stats.dropped++;
      return false;
    }
    this.enqueue(input);
    this.kick(false);
    return true;
  }

  /**
   * Queues an event (the writer owns `input` from now on: it is chained later, as it is then).
   * `event` chains it (and every event queued before it) when read; `committed` (sync) settles
   * with its batch.
   */
  append(input: AuditEventInput, sync = false): { readonly event: AuditEvent; committed: Promise<void> | null } {
    const entry = this.enqueue(input);
    let committed: Promise<void> | null = null;
    if (sync) committed = new Promise<void>((resolve, reject) => this.waiters.set(entry, { resolve, reject }));
    this.kick(sync);
    const seal = () => {
      if (!entry.sealed) this.sealThrough(entry.order);
      return viewOf(entry.sealed!);
    };
    return {
      get event() {
        return seal();
      },
      committed,
    };
  }

  /** Removes this writer's spill files last written before `cutoff` (server-log retention). How many events went. */
  async purgeSpillBefore(cutoff: Date): Promise<number> {
    return this.files ? this.files.purgeBefore(cutoff) : 0;
  }

  /** Resolves once every event appended so far is committed; rejects if a write fails first. */
  flush(): Promise<void> {
    if (this.ordinal === 0 || (this.pendingFloor() === Infinity && !this.spilledPending())) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) =>
      this.flushes.push({ through: this.ordinal - 1, waiter: { resolve, reject } }),
    );
    this.kick(true);
    return done;
  }

  /** Closes the open segment and delivers everything: to the database (one attempt), else to the spill directory. */
  close(): Promise<void> {
    this.closedPromise ??= (async () => {
      // Access events dropped and not yet declared are declared now, in the chain, so the
      // declaration reaches the database or the spill with the rest (issue 28 item 6).
      this.declareGap();
      this.sealThrough(Infinity);
      if (this.chain.open > 0)
        this.queue.push({
          ...this.chain.close(),
          order: this.ordinal++,
          prev: this.chain.lastEvent,
          attempted: false,
        });
      this.closing = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (this.backoff) clearTimeout(this.backoff);
      this.backoff = null;
      const idle = () =>
        new Promise<void>((resolve) => {
          this.idle = resolve;
          this.checkIdle();
        });
      await idle();
      // One more pass at the database while closing: the first failure ends it, no backoff.
      this.failures = 0;
      this.pump(true);
      await idle();
      // At shutdown the cap gives way: what is chained in memory (at most maxBuffered events past
      // it, and the gap declaration) goes to disk rather than being lost.
      if (this.queue.length) await this.spill(this.queue.length, true);
      if (this.queue.length)
        this.o.logger.error({ lost: this.queue.length }, 'audit: events could be neither written nor spilled');
      for (const [, w] of this.waiters) w.reject(new AuditUnavailable());
      this.waiters.clear();
      for (const f of this.flushes) f.waiter.reject(new AuditUnavailable());
      this.flushes = [];
    })();
    return this.closedPromise;
  }
}
