/**
 * The audit writer's state and its queue (writer.ts has the design): the options, the queued
 * items, their sealing (chaining) in append order, and the waiters of sync events and flushes.
 */
import type { Database } from '@harakaflow/db';
import { type SigningKey } from '@harakaflow/core';
import { BatchWriter, type BatchItem } from './batches.js';
import { Chain, viewOf, type Sealed } from './chain.js';
import { AuditUnavailable } from './errors.js';
import type { AuditEventInput, ChainVersion } from './event.js';
import { SpillFiles } from './spill-files.js';
import type { Item, SegmentClose } from './spill.js';
import { type LateErasure } from './tombstones.js';
import type { Checkpoint, CopyMode } from './writes.js';

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
  /**
   * The chain format of new events: 2 (default), 3 once every replica reads it, or 1 while replicas of a version before
   * issue 12 still verify.
   */
  chainVersion?: ChainVersion | undefined;
  /** Interned user agents kept in the LRU (format 3). Default 1000. */
  userAgentCacheSize?: number | undefined;
  /**
   * Format-3 batches on Postgres by binary COPY (true), UNNEST (false), or COPY unless the pool is made for a
   * transaction pooler ('auto', default). PGlite: always UNNEST.
   */
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
export interface QueuedEvent {
  close?: undefined;
  input: AuditEventInput;
  ms: number;
  order: number;
  sealed: Sealed | null;
  closed: SegmentClose | null;
  prev: Sealed | null;
  attempted: boolean;
}
export type QueuedClose = SegmentClose & { order: number; prev: Sealed | null; attempted: boolean };
export type Queued = QueuedEvent | QueuedClose;

/** Queued items (sealed) as a batch and a checkpoint see them. */
export function batchItems(queue: readonly Queued[]): BatchItem[] {
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
export const spillItems = (queue: readonly Queued[]): Item[] =>
  batchItems(queue).map((i) => ('close' in i ? i : viewOf(i)));

export interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** The writer's state and its queue; writer-delivery.ts writes and spills it, writer.ts is the API. */
export abstract class WriterQueue {
  readonly writer: string;
  protected readonly o: WriterOptions;
  protected readonly now: () => Date;
  protected readonly nowMs: () => number;
  /** A batch is full: the writes start on the next turn of the event loop, not in the request's hook. */
  protected scheduled = false;
  protected readonly concurrency: number;
  protected readonly chain: Chain;
  protected readonly files: SpillFiles | null;
  /** Items not yet handed to a write, in append order. */
  protected queue: Queued[] = [];
  protected ordinal = 0;
  /**
   * Each batch in flight, by the ordinal of its first item: when its first event occurred (ms; Infinity for a batch of
   * segment closes only).
   */
  protected inFlight = new Map<number, number>();
  /** When the oldest event spilled and not yet replayed occurred (ms), or null. */
  protected spilledSince: number | null = null;
  protected inFlightItems = 0;
  protected waiters = new Map<QueuedEvent, Waiter>();
  protected flushes: { through: number; waiter: Waiter }[] = [];
  protected timer: NodeJS.Timeout | null = null;
  protected backoff: NodeJS.Timeout | null = null;
  protected failures = 0;
  protected spillPending = true; // files left by an earlier run are replayed first
  protected busy = false; // replaying or spilling: no new batches meanwhile
  protected closing = false;
  protected idle: (() => void) | null = null;
  protected lastStaleWarning = 0;
  protected readonly batches: BatchWriter;
  /** Counters for tests, metrics and the benchmark. */
  readonly stats = { written: 0, batches: 0, failedBatches: 0, spilled: 0, replayed: 0, rejected: 0, dropped: 0 };
  /** The spill directory reached its cap while the database fails: access events are dropped (counted). */
  protected dirFull = false;
  /** Access events dropped since the last declared gap, and when. */
  protected gap: { count: number; from: Date; to: Date } | null = null;

  protected closedPromise: Promise<void> | null = null;

  constructor(options: WriterOptions) {
    this.o = options;
    this.writer = options.writer;
    this.now = options.now ?? (() => new Date());
    const now = options.now;
    this.nowMs = now ? () => now().getTime() : Date.now;
    this.concurrency = options.concurrency ?? 2;
    this.chain = new Chain(options.writer, options.chainVersion);
    this.files = options.spillDir
      ? new SpillFiles(options.spillDir, options.checkpointKeys, options.spillMaxBytes)
      : null;
    this.batches = new BatchWriter({ ...options, onErased: (records) => this.recordErasures(records) }, this.stats);
  }

  /**
   * Chains every queued event up to append order `order` that is not chained yet, in append order
   * (the sealed ones are always a prefix of the queue: batches and spills take the queue's head).
   */
  protected sealThrough(order: number): void {
    for (const q of this.queue) {
      if (q.order > order) break;
      if (q.close || q.sealed) continue;
      q.prev = this.chain.lastEvent;
      const { event, closed } = this.chain.next(q.input, q.ms);
      q.sealed = event;
      q.closed = closed;
    }
  }

  /** When the oldest event in memory (queued or in flight) occurred, ms; Infinity when none. */
  protected oldestQueued(): number {
    let oldest = Infinity;
    for (const at of this.inFlight.values()) oldest = Math.min(oldest, at);
    const head = this.queue.find((q): q is QueuedEvent => !q.close);
    return head ? Math.min(oldest, head.ms) : oldest;
  }

  protected enqueue(input: AuditEventInput): QueuedEvent {
    if (this.closing) throw new AuditUnavailable();
    const entry: QueuedEvent = {
      input,
      ms: this.nowMs(),
      order: this.ordinal++,
      sealed: null,
      closed: null,
      prev: null,
      attempted: false,
    };
    this.queue.push(entry);
    return entry;
  }

  protected take(entry: QueuedEvent): Waiter | undefined {
    const waiter = this.waiters.get(entry);
    if (waiter) this.waiters.delete(entry);
    return waiter;
  }

  /** Chains the events of a batch (or a spill file) taken from the queue's head. */
  protected sealBatch(batch: readonly Queued[]): void {
    const last = batch[batch.length - 1];
    if (!last || last.close || last.sealed) return;
    // The batch was the queue's head: what is left of the queue follows it, so chain its events now.
    const rest = this.queue;
    this.queue = batch as Queued[];
    try {
      this.sealThrough(last.order);
    } finally {
      this.queue = rest;
    }
  }

  /** Spill files of this writer may wait in the directory. */
  protected spilledPending(): boolean {
    return this.spillPending && this.files !== null && this.stats.spilled > 0;
  }

  /** The smallest ordinal not yet committed (queued or in flight), or Infinity. */
  protected pendingFloor(): number {
    let floor = this.queue.length ? this.queue[0]!.order : Infinity;
    for (const first of this.inFlight.keys()) floor = Math.min(floor, first);
    return floor;
  }

  protected checkIdle(): void {
    if (this.idle && !this.inFlight.size && !this.busy) this.idle();
  }

  protected warnIfStale(): void {
    const head = this.queue.find((q): q is QueuedEvent => !q.close);
    if (!head) return;
    const now = this.now().getTime();
    const age = now - head.ms;
    if (age > this.o.staleAfterMs && now - this.lastStaleWarning > this.o.staleAfterMs) {
      this.lastStaleWarning = now;
      this.o.logger.warn({ oldestAgeMs: age, buffered: this.buffered }, 'audit: undelivered events are getting old');
    }
  }

  /** Events waiting in memory, queued or being written (not yet committed or spilled). */
  get buffered(): number {
    return this.queue.length + this.inFlightItems;
  }

  /** Appends the erasure records of events a batch inserted erased (writer.ts). */
  protected abstract recordErasures(records: readonly LateErasure[]): void;
}
