/**
 * The write-behind machinery of the quota store (store.ts): the backend, the lists the next flush
 * carries, the timers that start it (after `flushMs`, or at once when someone waits or the
 * increments are many), sync, the sweep of idle entries, and close.
 */
import type { Backend, BatchOp, Reading } from './backend.js';
import { MemoryBackend } from './memory-store.js';
import { PostgresBackend } from './postgres-store.js';
import { RedisBackend } from './redis-store.js';
import { storeTimedOut, type StoreConfig, type StoreKind } from './store-config.js';
import { dropIdle, DOWN, KNOWN, type Counter, type Entry } from './store-entries.js';
import { flush, type FlushHost, type Queued } from './store-flush.js';

const SWEEP_MS = 10_000;

export class WriteBehind implements FlushHost {
  readonly kind: StoreKind;
  readonly prefix: string;
  /** Memory store: entries are the counts, nothing is flushed. */
  readonly local: boolean;
  /** The in-memory limiter that answers while the store cannot (fail-open limits). */
  readonly insurance = new MemoryBackend();
  /** Store operations sent (every key of a flush, every exact call): the tests count them. */
  calls = 0;
  /** Every part of the last flush failed: until a probe answers, no decision waits for the store. */
  down = false;
  readonly backend: Backend;
  readonly timeoutMs: number;
  /** Why the store last failed (the insurance limiter's log names it). */
  lastError: unknown = null;
  protected readonly config: StoreConfig;
  protected readonly flushIncrements: number;
  /** Entries the next flush writes or reads, and exact ops it carries. */
  protected dirty: Entry[] = [];
  protected queue: Queued[] = [];
  /** Increments since the last flush started. */
  protected unsent = 0;
  /** Someone awaits the next flush: it starts at once. */
  protected waiting = false;
  protected readonly counters: Counter[] = [];
  readonly #flushMs: number;
  #timer: NodeJS.Timeout | null = null;
  #soon = false;
  #flushing: Promise<void> | null = null;
  #again = false;
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(config: StoreConfig) {
    this.config = config;
    this.kind = config.kind;
    this.prefix = config.keyPrefix ?? 'hf:quota:';
    this.local = config.kind === 'memory';
    this.#flushMs = config.flushMs ?? 50;
    this.flushIncrements = config.flushIncrements ?? 500;
    this.timeoutMs = config.timeoutMs;
    if (config.kind === 'redis') this.backend = new RedisBackend(config.redis);
    else if (config.kind === 'postgres') this.backend = new PostgresBackend(config.db!);
    else this.backend = new MemoryBackend();
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  /** Queues an entry for the next flush (read or retried) without anyone waiting on it. */
  retry(e: Entry): void {
    if (this.local || e.queued) return;
    e.queued = true;
    this.dirty.push(e);
    this.arm();
  }

  /** An exact op the store could not answer (it failed, or the store is down): the insurance limiter answers. */
  fallbackOp(limit: string, op: BatchOp): Reading | null {
    this.config.onStoreFailure?.(limit);
    this.config.onFallback(limit, this.lastError ?? storeTimedOut());
    return this.insurance.batchNow([op])[0]!;
  }

  /** A flush after `flushMs`, unless one is armed, running or due. */
  protected arm(): void {
    if (this.#timer || this.#flushing || this.#soon || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#start();
    }, this.#flushMs);
    this.#timer.unref();
  }

  /** A flush as soon as the current one (if any) ends: someone waits, or the increments are many. */
  protected flushSoon(): void {
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    if (this.#soon || this.#closed) return;
    this.#soon = true;
    // After this turn's I/O: every request parsed meanwhile rides the same round trip.
    setImmediate(() => {
      this.#soon = false;
      if (!this.#closed) void this.#start();
    });
  }

  #start(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const run = this.#flush(this.#take()).finally(() => {
      this.#flushing = null;
      if (this.#closed) return;
      if (this.#again || this.waiting || this.unsent >= this.flushIncrements) {
        this.#again = false;
        this.flushSoon();
      } else if (this.dirty.length || this.queue.length || this.down) this.arm();
    });
    this.#flushing = run;
    return run;
  }

  /** What the next flush carries (the lists start again empty). */
  #take(): [Entry[], Queued[]] {
    const work: [Entry[], Queued[]] = [this.dirty, this.queue];
    this.dirty = [];
    this.queue = [];
    this.unsent = 0;
    this.waiting = false;
    return work;
  }

  /** A flush of what `#take` took (none on the memory store). */
  #flush([entries, queued]: [Entry[], Queued[]]): Promise<void> {
    return this.local ? Promise.resolve() : flush(this, entries, queued);
  }

  /** Puts an exact op back for the next flush (FlushHost). */
  requeue(q: Queued): void {
    this.queue.push(q);
  }

  /**
   * Writes every pending increment now and forgets the counts this replica knew, so the next
   * decision of each key reads the store: every replica's counts, once each has synced. True when
   * the store answered. For tests and operators; the request path never needs it.
   */
  async sync(): Promise<boolean> {
    if (this.local) return true;
    for (let round = 0; round < 3; round++) {
      while (this.#flushing) await this.#flushing;
      await this.#start();
      if (!this.down && !this.dirty.some((e) => e.pending > 0 || e.state === DOWN)) break;
    }
    dropIdle(this.counters, () => true);
    return !this.down;
  }

  /** Drops entries nobody will ask about: windows ended, nothing pending or awaited. */
  #sweep(): void {
    const now = Date.now();
    dropIdle(this.counters, (e) => e.state !== KNOWN || now >= e.resetAt);
  }

  /** Stops the timers after a last flush of what is pending (bounded by the store timeout). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    clearInterval(this.#sweeper);
    while (this.#flushing) await this.#flushing;
    if (!this.local && (this.dirty.length || this.queue.length)) await this.#flush(this.#take());
    this.backend.close();
  }
}
