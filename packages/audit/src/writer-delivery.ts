/**
 * The audit writer's delivery (writer.ts has the design): batches in flight, backoff, spilling
 * past the memory bound, the replay of spill files, and the gap of dropped access events.
 */
import { errorCodes } from '@harakaflow/core';
import { positionOf } from './chain.js';
import { AuditUnavailable } from './errors.js';
import type { AuditEvent, AuditEventInput } from './event.js';
import { replaySpill } from './replay.js';
import type { SpillFiles } from './spill-files.js';
import type { SpillFile } from './spill.js';
import { batchItems, spillItems, WriterQueue, type Queued, type QueuedEvent } from './writer-queue.js';

export abstract class WriterDelivery extends WriterQueue {
  /** Writes now (`immediate`, a full batch, or past the memory bound) or after the interval. */
  protected kick(immediate: boolean): void {
    if (immediate || this.queue.length >= this.o.batchSize || this.queue.length > this.o.maxBuffered) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      // A sync event or a flush does not wait out a backoff: it is an attempt of its own.
      if (immediate && this.backoff) this.endBackoff(true);
      else if (this.backoff) this.spillExcess();
      else if (immediate) this.pump(true);
      else if (!this.scheduled) {
        // A full batch: chained and encoded on the next turn, outside the hook of the request that filled it.
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    } else {
      this.armTimer();
    }
  }

  /** A partial batch goes after at most `flushIntervalMs`. */
  protected armTimer(): void {
    if (this.timer || !this.queue.length || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump(true);
    }, this.o.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Starts writes until `concurrency` batches are in flight. Never awaits: each write settles on
   * its own. Only full batches go unless `partial` (the interval elapsed, a sync event or flush
   * waits, or the writer closes): batches stay large under load, and small when it is quiet.
   */
  protected pump(partial = false): void {
    if (this.busy || this.backoff) return;
    if (this.spillPending && this.files) {
      if (this.inFlight.size) return; // replay once the writes in flight settle
      this.busy = true;
      replaySpill({
        files: this.files!,
        db: this.o.db,
        timeoutMs: this.o.writeTimeoutMs,
        logger: this.o.logger,
        batchSize: this.o.batchSize,
        write: (items) => this.batches.write(items),
        record: (input) => {
          try {
            this.append(input);
          } catch {
            // closing: the log line stands
          }
        },
        stats: this.stats,
      }).then(
        () => {
          this.spillPending = false;
          this.spilledSince = null;
          this.busy = false;
          this.resolveFlushes(); // what waited only for the spilled events is now committed
          this.recovered();
          this.pump(partial);
        },
        (error: unknown) => {
          this.busy = false;
          this.failed(error);
        },
      );
      return;
    }
    const anyPartial = partial || this.closing || this.waiters.size > 0 || this.flushes.length > 0;
    while (this.inFlight.size < this.concurrency && this.queue.length) {
      if (this.queue.length < this.o.batchSize && !anyPartial) break;
      const batch = this.queue.splice(0, this.o.batchSize);
      const first = batch[0]!.order;
      this.sealBatch(batch);
      const firstEvent = batch.find((q): q is QueuedEvent => !q.close);
      this.inFlight.set(first, firstEvent ? firstEvent.ms : Infinity);
      this.inFlightItems += batch.length;
      this.batches
        .write(
          batchItems(batch),
          batch.some((q) => q.attempted),
        )
        .then(
          () => this.settled(batch, first, null),
          (error: unknown) => this.settled(batch, first, error ?? new Error('write failed')),
        );
    }
    // What is left (a partial batch) goes when the interval elapses.
    this.armTimer();
    this.checkIdle();
  }

  protected settled(batch: Queued[], first: number, error: unknown): void {
    this.inFlight.delete(first);
    this.inFlightItems -= batch.length;
    if (error === null) {
      this.failures = 0;
      if (this.waiters.size) for (const item of batch) if (!item.close) this.take(item)?.resolve();
      this.recovered();
      this.resolveFlushes();
      this.pump();
      return;
    }
    // Back to the front of the queue, in append order: the chain needs every event. It may have
    // been stored all the same (a commit that was not acknowledged): the next write skips it.
    for (const q of batch) q.attempted = true;
    this.queue = [...batch, ...this.queue].sort((a, b) => a.order - b.order);
    for (const item of batch) if (!item.close) this.take(item)?.reject(new AuditUnavailable());
    this.failed(error);
  }

  /** After a successful write: the directory has room again, and a gap of dropped events is declared in the chain. */
  protected recovered(): void {
    if (this.dirFull && this.files && this.files.bytes < this.files.maxBytes) {
      this.dirFull = false;
      this.o.logger.warn(
        { spilledBytes: this.files.bytes },
        'audit: spill directory below its cap; access events recorded again',
      );
    }
    if (!this.dirFull && !this.closing) this.declareGap();
  }

  /** One chained `audit.gap` event for the access events dropped since the last one (none: nothing). */
  protected declareGap(): void {
    if (!this.gap) return;
    const gap = this.gap;
    this.gap = null;
    this.append({
      kind: 'security',
      action: 'audit.gap',
      outcome: 'failure',
      details: {
        count: gap.count,
        from: gap.from.toISOString(),
        to: gap.to.toISOString(),
        reason: 'the spill directory was full while the database was unavailable',
      },
    });
  }

  protected resolveFlushes(): void {
    // Events spilled to disk are not committed either: a flush waits for their replay.
    if (!this.flushes.length || this.spilledPending()) return;
    const floor = this.pendingFloor();
    const done = this.flushes.filter((f) => f.through < floor);
    this.flushes = this.flushes.filter((f) => f.through >= floor);
    for (const f of done) f.waiter.resolve();
  }

  /** After a failed write: reject flushes and queued sync events, spill past the bound, warn if stale, back off. */
  protected failed(error: unknown): void {
    this.failures++;
    this.stats.failedBatches++;
    this.o.logger.error(
      { err: errorCodes(error), buffered: this.buffered, attempt: this.failures },
      'audit: write failed; retrying',
    );
    const flushes = this.flushes;
    this.flushes = [];
    for (const f of flushes) f.waiter.reject(new AuditUnavailable());
    // A sync event waiting in the queue fails closed now, not when the database is back.
    if (this.waiters.size)
      for (const item of this.queue) if (!item.close) this.take(item)?.reject(new AuditUnavailable());
    this.warnIfStale();
    if (this.closing) {
      this.checkIdle();
      return;
    }
    if (!this.backoff) {
      const cap = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.min(this.failures - 1, 20));
      // Full jitter: replicas that failed together do not retry together.
      this.backoff = setTimeout(() => this.endBackoff(true), Math.random() * cap);
      this.backoff.unref();
    }
    this.spillExcess();
  }

  /** Past the memory bound while the database fails: the oldest half goes to disk. */
  protected spillExcess(): boolean {
    // Only with nothing in flight: a file's first item then follows an event already committed or spilled.
    if (this.queue.length <= this.o.maxBuffered || this.busy || !this.files || this.inFlight.size || this.dirFull)
      return false;
    this.busy = true;
    void this.spill(this.queue.length - Math.floor(this.o.maxBuffered / 2)).finally(() => {
      this.busy = false;
      this.pump();
    });
    return true;
  }

  protected endBackoff(partial = true): void {
    if (this.backoff) clearTimeout(this.backoff);
    this.backoff = null;
    if (!this.spillExcess()) this.pump(partial);
  }

  /**
   * Moves `count` items from the front of the queue to spill files, one file per contiguous run of
   * the chain: a batch that committed after an earlier one failed leaves a hole in the queue (its
   * events are stored), and a file must hold a run without holes to be linked on replay. Keeps the
   * items in memory if it cannot write them.
   */
  protected async spill(count: number, force = false): Promise<void> {
    if (!this.files) return;
    let left = Math.min(count, this.queue.length);
    while (left > 0 && (force || !this.dirFull)) {
      // A file holds at most a batch: the directory fills up to its cap file by file, and a
      // replay writes a file as one batch.
      let run = 1;
      while (run < left && run < this.o.batchSize && this.queue[run]!.order === this.queue[run - 1]!.order + 1) run++;
      if (!(await this.spillRun(this.files, run, force))) return;
      left -= run;
    }
  }

  /** Writes the first `count` items of the queue (a contiguous run) to one spill file; false if it could not. */
  protected async spillRun(files: SpillFiles, count: number, force: boolean): Promise<boolean> {
    const items = this.queue.slice(0, count);
    this.sealBatch(items);
    const after = items[0]!.prev;
    const file: SpillFile = { writer: this.writer, after: after ? positionOf(after) : null, items: spillItems(items) };
    let written: { name: string } | 'full';
    try {
      written = await files.write(file, force);
    } catch (error) {
      this.o.logger.error({ err: errorCodes(error) }, 'audit: cannot spill to disk; keeping events in memory');
      return false;
    }
    if (written === 'full') {
      // Full: what is queued stays in memory; new access events are dropped and counted until
      // writes succeed again (appendAccess); security events are still kept.
      this.dirFull = true;
      this.o.logger.error(
        { code: 'HF_AUDIT_SPILL_FULL', spilledBytes: files.bytes, maxBytes: files.maxBytes },
        'audit: spill directory full; access events are dropped and counted until the database is back',
      );
      return false;
    }
    // Only append() touched the queue meanwhile, at its end: the spilled items are still its head.
    this.queue.splice(0, items.length);
    for (const item of items) if (!item.close) this.take(item)?.reject(new AuditUnavailable());
    this.spillPending = true;
    const firstEvent = items.find((q): q is QueuedEvent => !q.close);
    if (firstEvent && this.spilledSince === null) this.spilledSince = firstEvent.ms;
    this.stats.spilled += items.filter((i) => !i.close).length;
    this.o.logger.warn(
      { spilled: items.length, file: written.name },
      'audit: database unavailable; events spilled to disk',
    );
    return true;
  }

  /** Queues an event (writer.ts). */
  abstract append(
    input: AuditEventInput,
    sync?: boolean,
  ): { readonly event: AuditEvent; committed: Promise<void> | null };
}
