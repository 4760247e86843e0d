/**
 * The audit writer: turns inputs into chained events and delivers them at least once.
 *
 * - Each writer instance owns one hash chain, segmented by UTC day (chain.ts has the rules,
 *   event.ts the formulas, checkpoints.ts the signed positions, spill-files.ts the files on disk,
 *   batches.ts one batch's write and its day partitions, replay.ts the replay of spill files).
 *   This file is the state machine that ties them: the queue, the batches in flight, backoff,
 *   spilling, and the promises of sync events and flushes.
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
import { errorCodes, withTimeout, type SigningKey } from '@harakaflow/core';
import { BatchWriter, type BatchItem } from './batches.js';
import { Chain, positionOf, viewOf, type Sealed } from './chain.js';
import { AuditUnavailable } from './errors.js';
import type { AuditEvent, AuditEventInput, ChainVersion } from './event.js';
import type { Interned } from './intern.js';
import { replaySpill } from './replay.js';
import { SpillFiles } from './spill-files.js';
import type { Item, SegmentClose, SpillFile } from './spill.js';
import { ERASURE_ACTION } from './store.js';
import { addTombstones, isNoTombstones, pendingErasureRecords, type LateErasure } from './tombstones.js';
import type { Checkpoint, CopyMode } from './writes.js';

export { checkpointMac, checkpointValid } from './checkpoints.js';

export interface WriterLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WriterOptions {
  db: Database;
  /** Names this writer's chain; unique per running instance. */
  writer: string;
  /** HMAC keys of the checkpoints: the first signs, all verify. */
  checkpointKeys: readonly SigningKey[];
  batchSize: number;
  /** Batches written at once (each on its own connection), so encoding and the database overlap. */
  concurrency?: number | undefined;
  flushIntervalMs: number;
  maxBuffered: number;
  /** The configured spill directory (files go in its `hf-audit-<uid>` subdirectory), or null. */
  spillDir: string | null;
  /** The chain format of new events: 2 (default), 3 once every replica reads it, or 1 while replicas of a version before issue 12 still verify. */
  chainVersion?: ChainVersion | undefined;
  /** Interned user agents kept in the LRU (format 3). Default 1000. */
  userAgentCacheSize?: number | undefined;
  /** Format-3 batches on Postgres by binary COPY (true), UNNEST (false), or COPY unless the pool is made for a transaction pooler ('auto', default). PGlite: always UNNEST. */
  copy?: CopyMode | undefined;
  /** The most the spill directory may hold, bytes. Default 1 GiB. */
  spillMaxBytes?: number | undefined;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A write that takes longer is treated as failed (and retried; inserts are idempotent). */
  writeTimeoutMs: number;
  staleAfterMs: number;
  logger: WriterLogger;
  /** Called with every checkpoint once it is committed, to keep a copy outside the database. */
  onCheckpoint?: ((checkpoint: Checkpoint) => void) | undefined;
  /**
   * The longest a buffered event may wait, in days (the plugin: the server-log period plus one):
   * an event older than that is inserted erased, and tombstones of erased subjects are kept that
   * long. Null or absent: no such rule.
   */
  tombstoneDays?: number | null | undefined;
  now?: () => Date;
}

/**
 * A queued event: its input and time until it is sealed (chained), then its chained form, the
 * segment close that precedes it (the day changed) and the event it follows in its chain (never
 * stored, never in a spill file). `attempted`: a write of it failed once (it may be stored: the
 * next write skips what is).
 */
interface QueuedEvent {
  close?: undefined;
  input: AuditEventInput;
  ms: number;
  order: number;
  sealed: Sealed | null;
  closed: SegmentClose | null;
  prev: Sealed | null;
  attempted: boolean;
}
type QueuedClose = SegmentClose & { order: number; prev: Sealed | null; attempted: boolean };
type Queued = QueuedEvent | QueuedClose;

/** Queued items (sealed) as a batch and a checkpoint see them. */
function batchItems(queue: readonly Queued[]): BatchItem[] {
  const out: BatchItem[] = [];
  for (const q of queue) {
    if (q.close) out.push({ close: true, writer: q.writer, day: q.day, count: q.count, lastHash: q.lastHash });
    else {
      if (q.closed) out.push(q.closed);
      out.push(q.sealed!);
    }
  }
  return out;
}

/** Queued items (sealed) as a spill file holds them. */
const spillItems = (queue: readonly Queued[]): Item[] => batchItems(queue).map((i) => ('close' in i ? i : viewOf(i)));

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

export class AuditWriter {
  readonly writer: string;
  readonly #o: WriterOptions;
  readonly #now: () => Date;
  readonly #nowMs: () => number;
  /** A batch is full: the writes start on the next turn of the event loop, not in the request's hook. */
  #scheduled = false;
  readonly #concurrency: number;
  readonly #chain: Chain;
  readonly #files: SpillFiles | null;
  /** Items not yet handed to a write, in append order. */
  #queue: Queued[] = [];
  #ordinal = 0;
  /** Each batch in flight, by the ordinal of its first item: when its first event occurred (ms; Infinity for a batch of segment closes only). */
  #inFlight = new Map<number, number>();
  /** When the oldest event spilled and not yet replayed occurred (ms), or null. */
  #spilledSince: number | null = null;
  #inFlightItems = 0;
  #waiters = new Map<QueuedEvent, Waiter>();
  #flushes: { through: number; waiter: Waiter }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #backoff: NodeJS.Timeout | null = null;
  #failures = 0;
  #spillPending = true; // files left by an earlier run are replayed first
  #busy = false; // replaying or spilling: no new batches meanwhile
  #closing = false;
  #idle: (() => void) | null = null;
  #lastStaleWarning = 0;
  readonly #batches: BatchWriter;
  /** Counters for tests, metrics and the benchmark. */
  readonly stats = { written: 0, batches: 0, failedBatches: 0, spilled: 0, replayed: 0, rejected: 0, dropped: 0 };
  /** The spill directory reached its cap while the database fails: access events are dropped (counted). */
  #full = false;
  /** Access events dropped since the last declared gap, and when. */
  #gap: { count: number; from: Date; to: Date } | null = null;

  constructor(options: WriterOptions) {
    this.#o = options;
    this.writer = options.writer;
    this.#now = options.now ?? (() => new Date());
    const now = options.now;
    this.#nowMs = now ? () => now().getTime() : Date.now;
    this.#concurrency = options.concurrency ?? 2;
    this.#chain = new Chain(options.writer, options.chainVersion);
    this.#files = options.spillDir
      ? new SpillFiles(options.spillDir, options.checkpointKeys, options.spillMaxBytes)
      : null;
    this.#batches = new BatchWriter({ ...options, onErased: (records) => this.#recordErasures(records) }, this.stats);
  }

  /** Appends the erasure records of events a batch inserted erased (async: each is kept in `audit.late_erasures` until it is in the log). */
  #recordErasures(records: readonly LateErasure[]): void {
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
  async tombstone(subjectId: string, db: Database = this.#o.db): Promise<void> {
    await addTombstones(db, this.#batches.subjectKeys.of(subjectId));
  }

  /**
   * Appends the erasure records of events inserted erased whose record is not in the log (a writer
   * that stopped before appending it), written more than `olderThanMs` ago. How many.
   */
  async recordPendingErasures(olderThanMs = 60_000): Promise<number> {
    const pending = await withTimeout(pendingErasureRecords(this.#o.db, olderThanMs), this.#o.writeTimeoutMs, () =>
      Object.assign(new Error('audit read timed out'), { code: 'HF_AUDIT_WRITE_TIMEOUT' }),
    );
    this.#recordErasures(pending);
    return pending.length;
  }

  /** The chain format this writer's events are in. */
  get chainVersion(): ChainVersion {
    return this.#chain.version;
  }

  /** This writer's interned ids (format 3): what it looked up, for tests and the benchmark. */
  get interned(): Interned {
    return this.#batches.interned;
  }

  /**
   * Chains every queued event up to append order `order` that is not chained yet, in append order
   * (the sealed ones are always a prefix of the queue: batches and spills take the queue's head).
   */
  #sealThrough(order: number): void {
    for (const q of this.#queue) {
      if (q.order > order) break;
      if (q.close || q.sealed) continue;
      q.prev = this.#chain.lastEvent;
      const { event, closed } = this.#chain.next(q.input, q.ms);
      q.sealed = event;
      q.closed = closed;
    }
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
    const oldest = Math.min(this.#oldestQueued(), this.#spilledSince ?? Infinity);
    return {
      backlog: this.buffered,
      spilledBytes: this.#files?.bytes ?? 0,
      dropped: this.#gap?.count ?? 0,
      full: this.#full,
      writeFailures: this.stats.failedBatches,
      oldestPendingMs: oldest === Infinity ? 0 : Math.max(0, this.#now().getTime() - oldest),
    };
  }

  /** When the oldest event in memory (queued or in flight) occurred, ms; Infinity when none. */
  #oldestQueued(): number {
    let oldest = Infinity;
    for (const at of this.#inFlight.values()) oldest = Math.min(oldest, at);
    const head = this.#queue.find((q): q is QueuedEvent => !q.close);
    return head ? Math.min(oldest, head.ms) : oldest;
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
        this.#o.logger.warn(
          { err: errorCodes(error) },
          'audit: pending erasure records not checked; the next start or retention run does it',
        );
    });
    if (!this.#files) return;
    try {
      await this.#files.directory();
    } catch (error) {
      this.#o.logger.error({ err: errorCodes(error) }, 'audit: the spill directory cannot be used; nothing replayed');
      return;
    }
    if (this.#files.bytes > 0) this.#pump(true);
  }

  /** The spill directory is full while the database fails (read on every request in fail-closed mode: no object built). */
  get full(): boolean {
    return this.#full;
  }

  /** Events waiting in memory, queued or being written (not yet committed or spilled). */
  get buffered(): number {
    return this.#queue.length + this.#inFlightItems;
  }

  /**
   * An access event, unless the spill directory is full (issue 13 item 15): then it is counted and
   * dropped, never chained, so the chain has no hole; once writes succeed again one chained
   * `audit.gap` event declares how many were dropped and when. Security events always go through
   * append(). Returns whether the event was kept.
   */
  appendAccess(input: AuditEventInput): boolean {
    if (this.#full) {
      const at = this.#now();
      this.#gap = this.#gap
        ? { count: this.#gap.count + 1, from: this.#gap.from, to: at }
        : { count: 1, from: at, to: at };
      this.stats.dropped++;
      return false;
    }
    this.#enqueue(input);
    this.#kick(false);
    return true;
  }

  /**
   * Queues an event (the writer owns `input` from now on: it is chained later, as it is then).
   * `event` chains it (and every event queued before it) when read; `committed` (sync) settles
   * with its batch.
   */
  append(input: AuditEventInput, sync = false): { readonly event: AuditEvent; committed: Promise<void> | null } {
    const entry = this.#enqueue(input);
    let committed: Promise<void> | null = null;
    if (sync) committed = new Promise<void>((resolve, reject) => this.#waiters.set(entry, { resolve, reject }));
    this.#kick(sync);
    const seal = () => {
      if (!entry.sealed) this.#sealThrough(entry.order);
      return viewOf(entry.sealed!);
    };
    return {
      get event() {
        return seal();
      },
      committed,
    };
  }

  #enqueue(input: AuditEventInput): QueuedEvent {
    if (this.#closing) throw new AuditUnavailable();
    const entry: QueuedEvent = {
      input,
      ms: this.#nowMs(),
      order: this.#ordinal++,
      sealed: null,
      closed: null,
      prev: null,
      attempted: false,
    };
    this.#queue.push(entry);
    return entry;
  }

  /** Writes now (`immediate`, a full batch, or past the memory bound) or after the interval. */
  #kick(immediate: boolean): void {
    if (immediate || this.#queue.length >= this.#o.batchSize || this.#queue.length > this.#o.maxBuffered) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      // A sync event or a flush does not wait out a backoff: it is an attempt of its own.
      if (immediate && this.#backoff) this.#endBackoff(true);
      else if (this.#backoff) this.#spillExcess();
      else if (immediate) this.#pump(true);
      else if (!this.#scheduled) {
        // A full batch: chained and encoded on the next turn, outside the hook of the request that filled it.
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    } else {
      this.#armTimer();
    }
  }

  /** A partial batch goes after at most `flushIntervalMs`. */
  #armTimer(): void {
    if (this.#timer || !this.#queue.length || this.#closing) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pump(true);
    }, this.#o.flushIntervalMs);
    this.#timer.unref();
  }

  /**
   * Starts writes until `concurrency` batches are in flight. Never awaits: each write settles on
   * its own. Only full batches go unless `partial` (the interval elapsed, a sync event or flush
   * waits, or the writer closes): batches stay large under load, and small when it is quiet.
   */
  #pump(partial = false): void {
    if (this.#busy || this.#backoff) return;
    if (this.#spillPending && this.#files) {
      if (this.#inFlight.size) return; // replay once the writes in flight settle
      this.#busy = true;
      replaySpill({
        files: this.#files!,
        db: this.#o.db,
        timeoutMs: this.#o.writeTimeoutMs,
        logger: this.#o.logger,
        batchSize: this.#o.batchSize,
        write: (items) => this.#batches.write(items),
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
          this.#spillPending = false;
          this.#spilledSince = null;
          this.#busy = false;
          this.#resolveFlushes(); // what waited only for the spilled events is now committed
          this.#recovered();
          this.#pump(partial);
        },
        (error: unknown) => {
          this.#busy = false;
          this.#failed(error);
        },
      );
      return;
    }
    const anyPartial = partial || this.#closing || this.#waiters.size > 0 || this.#flushes.length > 0;
    while (this.#inFlight.size < this.#concurrency && this.#queue.length) {
      if (this.#queue.length < this.#o.batchSize && !anyPartial) break;
      const batch = this.#queue.splice(0, this.#o.batchSize);
      const first = batch[0]!.order;
      this.#sealBatch(batch);
      const firstEvent = batch.find((q): q is QueuedEvent => !q.close);
      this.#inFlight.set(first, firstEvent ? firstEvent.ms : Infinity);
      this.#inFlightItems += batch.length;
      this.#batches
        .write(
          batchItems(batch),
          batch.some((q) => q.attempted),
        )
        .then(
          () => this.#settled(batch, first, null),
          (error: unknown) => this.#settled(batch, first, error ?? new Error('write failed')),
        );
    }
    // What is left (a partial batch) goes when the interval elapses.
    this.#armTimer();
    this.#checkIdle();
  }

  #settled(batch: Queued[], first: number, error: unknown): void {
    this.#inFlight.delete(first);
    this.#inFlightItems -= batch.length;
    if (error === null) {
      this.#failures = 0;
      if (this.#waiters.size) for (const item of batch) if (!item.close) this.#take(item)?.resolve();
      this.#recovered();
      this.#resolveFlushes();
      this.#pump();
      return;
    }
    // Back to the front of the queue, in append order: the chain needs every event. It may have
    // been stored all the same (a commit that was not acknowledged): the next write skips it.
    for (const q of batch) q.attempted = true;
    this.#queue = [...batch, ...this.#queue].sort((a, b) => a.order - b.order);
    for (const item of batch) if (!item.close) this.#take(item)?.reject(new AuditUnavailable());
    this.#failed(error);
  }

  /** After a successful write: the directory has room again, and a gap of dropped events is declared in the chain. */
  #recovered(): void {
    if (this.#full && this.#files && this.#files.bytes < this.#files.maxBytes) {
      this.#full = false;
      this.#o.logger.warn(
        { spilledBytes: this.#files.bytes },
        'audit: spill directory below its cap; access events recorded again',
      );
    }
    if (!this.#full && !this.#closing) this.#declareGap();
  }

  /** One chained `audit.gap` event for the access events dropped since the last one (none: nothing). */
  #declareGap(): void {
    if (!this.#gap) return;
    const gap = this.#gap;
    this.#gap = null;
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

  #take(entry: QueuedEvent): Waiter | undefined {
    const waiter = this.#waiters.get(entry);
    if (waiter) this.#waiters.delete(entry);
    return waiter;
  }

  /** Chains the events of a batch (or a spill file) taken from the queue's head. */
  #sealBatch(batch: readonly Queued[]): void {
    const last = batch[batch.length - 1];
    if (!last || last.close || last.sealed) return;
    // The batch was the queue's head: what is left of the queue follows it, so chain its events now.
    const rest = this.#queue;
    this.#queue = batch as Queued[];
    try {
      this.#sealThrough(last.order);
    } finally {
      this.#queue = rest;
    }
  }

  /** Spill files of this writer may wait in the directory. */
  #spilledPending(): boolean {
    return this.#spillPending && this.#files !== null && this.stats.spilled > 0;
  }

  /** The smallest ordinal not yet committed (queued or in flight), or Infinity. */
  #pendingFloor(): number {
    let floor = this.#queue.length ? this.#queue[0]!.order : Infinity;
    for (const first of this.#inFlight.keys()) floor = Math.min(floor, first);
    return floor;
  }

  #resolveFlushes(): void {
    // Events spilled to disk are not committed either: a flush waits for their replay.
    if (!this.#flushes.length || this.#spilledPending()) return;
    const floor = this.#pendingFloor();
    const done = this.#flushes.filter((f) => f.through < floor);
    this.#flushes = this.#flushes.filter((f) => f.through >= floor);
    for (const f of done) f.waiter.resolve();
  }

  /** After a failed write: reject flushes and queued sync events, spill past the bound, warn if stale, back off. */
  #failed(error: unknown): void {
    this.#failures++;
    this.stats.failedBatches++;
    this.#o.logger.error(
      { err: errorCodes(error), buffered: this.buffered, attempt: this.#failures },
      'audit: write failed; retrying',
    );
    const flushes = this.#flushes;
    this.#flushes = [];
    for (const f of flushes) f.waiter.reject(new AuditUnavailable());
    // A sync event waiting in the queue fails closed now, not when the database is back.
    if (this.#waiters.size)
      for (const item of this.#queue) if (!item.close) this.#take(item)?.reject(new AuditUnavailable());
    this.#warnIfStale();
    if (this.#closing) {
      this.#checkIdle();
      return;
    }
    if (!this.#backoff) {
      const cap = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** Math.min(this.#failures - 1, 20));
      // Full jitter: replicas that failed together do not retry together.
      this.#backoff = setTimeout(() => this.#endBackoff(true), Math.random() * cap);
      this.#backoff.unref();
    }
    this.#spillExcess();
  }

  /** Past the memory bound while the database fails: the oldest half goes to disk. */
  #spillExcess(): boolean {
    // Only with nothing in flight: a file's first item then follows an event already committed or spilled.
    if (this.#queue.length <= this.#o.maxBuffered || this.#busy || !this.#files || this.#inFlight.size || this.#full)
      return false;
    this.#busy = true;
    void this.#spill(this.#queue.length - Math.floor(this.#o.maxBuffered / 2)).finally(() => {
      this.#busy = false;
      this.#pump();
    });
    return true;
  }

  #endBackoff(partial = true): void {
    if (this.#backoff) clearTimeout(this.#backoff);
    this.#backoff = null;
    if (!this.#spillExcess()) this.#pump(partial);
  }

  #warnIfStale(): void {
    const head = this.#queue.find((q): q is QueuedEvent => !q.close);
    if (!head) return;
    const now = this.#now().getTime();
    const age = now - head.ms;
    if (age > this.#o.staleAfterMs && now - this.#lastStaleWarning > this.#o.staleAfterMs) {
      this.#lastStaleWarning = now;
      this.#o.logger.warn({ oldestAgeMs: age, buffered: this.buffered }, 'audit: undelivered events are getting old');
    }
  }

  #checkIdle(): void {
    if (this.#idle && !this.#inFlight.size && !this.#busy) this.#idle();
  }

  /** Removes this writer's spill files last written before `cutoff` (server-log retention). How many events went. */
  async purgeSpillBefore(cutoff: Date): Promise<number> {
    return this.#files ? this.#files.purgeBefore(cutoff) : 0;
  }

  /**
   * Moves `count` items from the front of the queue to spill files, one file per contiguous run of
   * the chain: a batch that committed after an earlier one failed leaves a hole in the queue (its
   * events are stored), and a file must hold a run without holes to be linked on replay. Keeps the
   * items in memory if it cannot write them.
   */
  async #spill(count: number, force = false): Promise<void> {
    if (!this.#files) return;
    let left = Math.min(count, this.#queue.length);
    while (left > 0 && (force || !this.#full)) {
      // A file holds at most a batch: the directory fills up to its cap file by file, and a
      // replay writes a file as one batch.
      let run = 1;
      while (run < left && run < this.#o.batchSize && this.#queue[run]!.order === this.#queue[run - 1]!.order + 1)
        run++;
      if (!(await this.#spillRun(this.#files, run, force))) return;
      left -= run;
    }
  }

  /** Writes the first `count` items of the queue (a contiguous run) to one spill file; false if it could not. */
  async #spillRun(files: SpillFiles, count: number, force: boolean): Promise<boolean> {
    const items = this.#queue.slice(0, count);
    this.#sealBatch(items);
    const after = items[0]!.prev;
    const file: SpillFile = { writer: this.writer, after: after ? positionOf(after) : null, items: spillItems(items) };
    let written: { name: string } | 'full';
    try {
      written = await files.write(file, force);
    } catch (error) {
      this.#o.logger.error({ err: errorCodes(error) }, 'audit: cannot spill to disk; keeping events in memory');
      return false;
    }
    if (written === 'full') {
      // Full: what is queued stays in memory; new access events are dropped and counted until
      // writes succeed again (appendAccess); security events are still kept.
      this.#full = true;
      this.#o.logger.error(
        { code: 'HF_AUDIT_SPILL_FULL', spilledBytes: files.bytes, maxBytes: files.maxBytes },
        'audit: spill directory full; access events are dropped and counted until the database is back',
      );
      return false;
    }
    // Only append() touched the queue meanwhile, at its end: the spilled items are still its head.
    this.#queue.splice(0, items.length);
    for (const item of items) if (!item.close) this.#take(item)?.reject(new AuditUnavailable());
    this.#spillPending = true;
    const firstEvent = items.find((q): q is QueuedEvent => !q.close);
    if (firstEvent && this.#spilledSince === null) this.#spilledSince = firstEvent.ms;
    this.stats.spilled += items.filter((i) => !i.close).length;
    this.#o.logger.warn(
      { spilled: items.length, file: written.name },
      'audit: database unavailable; events spilled to disk',
    );
    return true;
  }

  /** Resolves once every event appended so far is committed; rejects if a write fails first. */
  flush(): Promise<void> {
    if (this.#ordinal === 0 || (this.#pendingFloor() === Infinity && !this.#spilledPending())) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) =>
      this.#flushes.push({ through: this.#ordinal - 1, waiter: { resolve, reject } }),
    );
    this.#kick(true);
    return done;
  }

  #closed: Promise<void> | null = null;

  /** Closes the open segment and delivers everything: to the database (one attempt), else to the spill directory. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      // Access events dropped and not yet declared are declared now, in the chain, so the
      // declaration reaches the database or the spill with the rest (issue 28 item 6).
      this.#declareGap();
      this.#sealThrough(Infinity);
      if (this.#chain.open > 0)
        this.#queue.push({
          ...this.#chain.close(),
          order: this.#ordinal++,
          prev: this.#chain.lastEvent,
          attempted: false,
        });
      this.#closing = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      if (this.#backoff) clearTimeout(this.#backoff);
      this.#backoff = null;
      const idle = () =>
        new Promise<void>((resolve) => {
          this.#idle = resolve;
          this.#checkIdle();
        });
      await idle();
      // One more pass at the database while closing: the first failure ends it, no backoff.
      this.#failures = 0;
      this.#pump(true);
      await idle();
      // At shutdown the cap gives way: what is chained in memory (at most maxBuffered events past
      // it, and the gap declaration) goes to disk rather than being lost.
      if (this.#queue.length) await this.#spill(this.#queue.length, true);
      if (this.#queue.length)
        this.#o.logger.error({ lost: this.#queue.length }, 'audit: events could be neither written nor spilled');
      for (const [, w] of this.#waiters) w.reject(new AuditUnavailable());
      this.#waiters.clear();
      for (const f of this.#flushes) f.waiter.reject(new AuditUnavailable());
      this.#flushes = [];
    })();
    return this.#closed;
  }
}
