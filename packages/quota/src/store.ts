/**
 * The quota store as the plugin uses it: one backend (memory, Redis or Postgres) behind two kinds of
 * limits.
 *
 * **Counters, written behind** (request limits: anonymous, a plan's requests per second, minute or
 * day, a route's own). Each (limit, key) has an Entry here: the global count last read from the
 * store, this replica's increments not yet written (`pending`) and those in flight (`sending`). A
 * request is decided from memory on `count + sending + pending`, no store call. Every `flushMs`
 * (50 ms) or `flushIncrements` (500) increments, whichever comes first, one flush writes every
 * touched key's increments in one round trip (one per node of a Redis Cluster; one statement on
 * Postgres) and takes back the global counts. A key this replica does not know yet (a new client,
 * a restarted replica) waits for a flush that reads it, made at once (so one round trip, batched
 * with whoever else waits); a window that ends here starts again from 0. On the memory store the
 * entries are the counts themselves and nothing is flushed.
 *
 * **Exact operations**: bans read and written in the same flush (awaited), and conditional consumes
 * (messages per day, failed authentications, ban escalation) as one atomic call each.
 *
 * **Failures.** A flush that fails or outlasts `timeoutMs` drops the increments it carried (written
 * at most once: a timed-out write may have landed) and, when every part of it failed, marks the
 * store down: until a probe (every `flushMs`) answers, fail-open decisions go to an in-memory
 * insurance limiter of the same shape (counted, logged) and fail-closed ones answer 503
 * HF_QUOTA_UNAVAILABLE. A key whose own part failed (one node of a cluster) is answered the same
 * way until a flush reads it again. Requests the insurance limiter admitted are not added to the
 * store afterwards.
 */
import type { Database } from '@harakaflow/db';
import { withTimeout } from '@harakaflow/core';
import type { Backend, BatchOp, Reading, Taken } from './backend.js';
import { TakeCoalescer } from './coalesce.js';
import { QuotaUnavailable } from './errors.js';
import { MemoryBackend } from './memory-store.js';
import { PostgresBackend } from './postgres-store.js';
import { RedisBackend } from './redis-store.js';

export type StoreKind = 'memory' | 'postgres' | 'redis';

export interface StoreConfig {
  kind: StoreKind;
  db?: Database | undefined;
  /** An ioredis client (Redis or Cluster). */
  redis?: unknown;
  timeoutMs: number;
  /** Prefix of every store key. Default 'hf:quota:'. */
  keyPrefix?: string | undefined;
  /** The insurance limiter answered a decision the store could not (logged, counted). */
  onFallback: (limit: string, error: unknown) => void;
  /** A store operation of this limit failed or timed out, or a fail-closed one found the store down. */
  onStoreFailure?: ((limit: string) => void) | undefined;
  /** Counters are written this often, ms. Default 50. */
  flushMs?: number | undefined;
  /** ...or after this many increments, whichever comes first. Default 500. */
  flushIncrements?: number | undefined;
}

export interface Outcome {
  allowed: boolean;
  consumed: number;
  remaining: number;
  msBeforeNext: number;
}

const storeTimedOut = () => Object.assign(new Error('quota store timed out'), { code: 'HF_QUOTA_STORE_TIMEOUT' });

/** An entry's state: not read yet, read (its count is the store's as of the last flush), or its last flush failed. */
export const UNKNOWN = 0;
export const KNOWN = 1;
export const DOWN = 2;

/** One write-behind limit: its entries by key. */
export class Counter {
  readonly entries = new Map<string, Entry>();
  constructor(
    readonly name: string,
    readonly points: number,
    readonly durationMs: number,
    /** Store keys of this limit: `${prefix}${name}:${key}`, as rate-limiter-flexible named them. */
    readonly prefix: string,
  ) {}
}

export class Entry {
  /** The global count as the store last answered it (memory store: the count). */
  count = 0;
  /** This replica's increments not yet sent. */
  pending = 0;
  /** Increments in the flush in flight. */
  sending = 0;
  /** When the window ends (Date.now() clock). */
  resetAt = 0;
  /** The count up to which warning thresholds were looked at here (a jump read from the store is looked at too). */
  seen = 0;
  state = UNKNOWN;
  /** In the list of the next flush. */
  queued = false;
  /** Decisions waiting for this entry's read. */
  waiters: (() => void)[] | null = null;
  constructor(
    readonly counter: Counter,
    readonly key: string,
  ) {}
}

/** An exact op waiting for the next flush (never rejected: a failure is answered by the insurance limiter). */
interface Queued {
  op: BatchOp;
  limit: string;
  resolve(reading: Reading | null): void;
}

const SWEEP_MS = 10_000;

export class Store {
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
  /**
   * The most admissions of one key this replica has held not yet written and read back (pending
   * and in flight): the term of the over-admission bound (README) this replica contributes.
   */
  unsyncedPeak = 0;
  readonly #backend: Backend;
  readonly #takes = new TakeCoalescer();
  readonly #memory: MemoryBackend | null;
  readonly #config: StoreConfig;
  readonly #flushMs: number;
  readonly #flushIncrements: number;
  #dirty: Entry[] = [];
  #queue: Queued[] = [];
  #unsent = 0;
  #waiting = false;
  #timer: NodeJS.Timeout | null = null;
  #soon = false;
  #flushing: Promise<void> | null = null;
  #again = false;
  #lastError: unknown = null;
  readonly #counters: Counter[] = [];
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(config: StoreConfig) {
    this.#config = config;
    this.kind = config.kind;
    this.prefix = config.keyPrefix ?? 'hf:quota:';
    this.local = config.kind === 'memory';
    this.#flushMs = config.flushMs ?? 50;
    this.#flushIncrements = config.flushIncrements ?? 500;
    if (config.kind === 'redis') this.#backend = new RedisBackend(config.redis);
    else if (config.kind === 'postgres') this.#backend = new PostgresBackend(config.db!);
    else this.#backend = new MemoryBackend();
    this.#memory = this.#backend instanceof MemoryBackend ? this.#backend : null;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  counter(name: string, points: number, durationSeconds: number): Counter {
    const counter = new Counter(name, points, durationSeconds * 1000, `${this.prefix}${name}:`);
    this.#counters.push(counter);
    return counter;
  }

  /** The entry of a key (created unknown; on the memory store, a window that starts now). */
  entry(counter: Counter, key: string, now: number): Entry {
    let e = counter.entries.get(key);
    if (e === undefined) {
      e = new Entry(counter, key);
      if (this.local) {
        e.state = KNOWN;
        e.resetAt = now + counter.durationMs;
      }
      counter.entries.set(key, e);
    }
    return e;
  }

  /** A known entry's count as this replica sees it; a window that ended starts again from 0. */
  view(e: Entry, now: number): number {
    if (now >= e.resetAt) {
      e.count = 0;
      e.seen = 0;
      e.resetAt = now + e.counter.durationMs;
    }
    return e.count + e.sending + e.pending;
  }

  /** Counts `n` for a known entry: at once on the memory store, else written by the next flush. */
  add(e: Entry, n: number): void {
    if (this.local) {
      e.count += n;
      return;
    }
    e.pending += n;
    const unsynced = e.pending + e.sending;
    if (unsynced > this.unsyncedPeak) this.unsyncedPeak = unsynced;
    if (!e.queued) {
      e.queued = true;
      this.#dirty.push(e);
    }
    if ((this.#unsent += n) >= this.#flushIncrements) this.#flushSoon();
    else this.#arm();
  }

  /** Resolves when every unknown entry of the list has been read (or found unreadable). */
  wait(entries: readonly Entry[], count: number): Promise<void> {
    return new Promise((resolve) => {
      let left = 0;
      const done = () => {
        if (--left === 0) resolve();
      };
      for (let i = 0; i < count; i++) {
        const e = entries[i]!;
        if (e.state !== UNKNOWN) continue;
        left++;
        (e.waiters ??= []).push(done);
        if (!e.queued) {
          e.queued = true;
          this.#dirty.push(e);
        }
      }
      if (left === 0) return resolve();
      this.#waiting = true;
      this.#flushSoon();
    });
  }

  /** Queues an entry for the next flush (read or retried) without anyone waiting on it. */
  retry(e: Entry): void {
    if (this.local || e.queued) return;
    e.queued = true;
    this.#dirty.push(e);
    this.#arm();
  }

  /** A decision of `limit` the store could not make (down, or the key unreadable): the insurance limiter answered. */
  insured(limit: string): void {
    this.#config.onStoreFailure?.(limit);
    this.#config.onFallback(limit, this.#lastError ?? storeTimedOut());
  }

  /** A decision of a fail-closed limit that found the store down or the key unreadable. */
  unavailable(limit: string): Error {
    this.#config.onStoreFailure?.(limit);
    return new QuotaUnavailable();
  }

  /** Forgets a key's entry here (erasure): its next decision reads the store. */
  forget(counter: Counter, key: string): void {
    const e = counter.entries.get(key);
    if (!e) return;
    if (e.waiters || e.queued) {
      e.count = e.pending = 0;
      e.state = this.local ? KNOWN : UNKNOWN;
      return;
    }
    counter.entries.delete(key);
  }

  // ---- exact operations -------------------------------------------------------------------

  /** Reads a key (a ban, a failed-authentication count): in the next flush, at once. Fail-open. */
  read(limit: string, key: string): Promise<Reading | null> {
    if (this.#memory) return this.#memoryCall(() => this.#memory!.get(key));
    if (this.down) return Promise.resolve(this.#fallbackOp(limit, { op: 'get', key }));
    return this.#enqueue(limit, { op: 'get', key });
  }

  /** Sets a key's count for `ms` (a ban): in the next flush, at once. Fail-open. */
  write(limit: string, key: string, n: number, ms: number): Promise<Reading | null> {
    if (this.#memory) return this.#memoryCall(() => this.#memory!.set(key, n, ms));
    if (this.down) return Promise.resolve(this.#fallbackOp(limit, { op: 'set', key, n, ms }));
    return this.#enqueue(limit, { op: 'set', key, n, ms });
  }

  /**
   * Atomically `n` more within `max` (an exact limit), awaited. Concurrent takes of one key on this
   * replica share calls (coalesce.ts): one in flight per key, the rest as one call for their sum.
   */
  async take(limit: string, key: string, n: number, max: number, ms: number, failClosed: boolean): Promise<Taken> {
    if (this.#memory) {
      this.calls++;
      return this.#memory.takeNow(key, n, max, ms);
    }
    try {
      return await this.#takes.take(`${max}:${key}`, n, max, (sum) => {
        this.calls++;
        return withTimeout(this.#backend.take(key, sum, max, ms), this.#config.timeoutMs, storeTimedOut);
      });
    } catch (error) {
      this.#lastError = error;
      this.#config.onStoreFailure?.(limit);
      if (failClosed) throw new QuotaUnavailable();
      this.#config.onFallback(limit, error);
      return this.insurance.takeNow(key, n, max, ms);
    }
  }

  /** Deletes keys (unban, erasure), here and in the insurance limiter; a failure is counted and logged, not thrown. */
  async del(limit: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) this.insurance.delete(key);
    this.calls += keys.length;
    if (this.#memory) return this.#memory.del(keys);
    try {
      await withTimeout(this.#backend.del(keys), this.#config.timeoutMs, storeTimedOut);
    } catch (error) {
      this.#lastError = error;
      this.#config.onStoreFailure?.(limit);
      this.#config.onFallback(limit, error);
    }
  }

  #memoryCall(call: () => Reading | null): Promise<Reading | null> {
    this.calls++;
    return Promise.resolve(call());
  }

  /** An exact op the store could not answer (it failed, or the store is down): the insurance limiter answers. */
  #fallbackOp(limit: string, op: BatchOp): Reading | null {
    this.#config.onStoreFailure?.(limit);
    this.#config.onFallback(limit, this.#lastError ?? storeTimedOut());
    return this.insurance.batchNow([op])[0]!;
  }

  #enqueue(limit: string, op: BatchOp): Promise<Reading | null> {
    return new Promise((resolve) => {
      this.#queue.push({ op, limit, resolve });
      this.#waiting = true;
      this.#flushSoon();
    });
  }

  // ---- the flush -------------------------------------------------------------------------

  /** A flush after `flushMs`, unless one is armed, running or due. */
  #arm(): void {
    if (this.#timer || this.#flushing || this.#soon || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#start();
    }, this.#flushMs);
    this.#timer.unref();
  }

  /** A flush as soon as the current one (if any) ends: someone waits, or the increments are many. */
  #flushSoon(): void {
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
      if (this.#again || this.#waiting || this.#unsent >= this.#flushIncrements) {
        this.#again = false;
        this.#flushSoon();
      } else if (this.#dirty.length || this.#queue.length || this.down) this.#arm();
    });
    this.#flushing = run;
    return run;
  }

  /** What the next flush carries (the lists start again empty). */
  #take(): [Entry[], Queued[]] {
    const work: [Entry[], Queued[]] = [this.#dirty, this.#queue];
    this.#dirty = [];
    this.#queue = [];
    this.#unsent = 0;
    this.#waiting = false;
    return work;
  }

  /** A flush, which never rejects: whatever goes wrong, nobody is left waiting. */
  async #flush([entries, queued]: [Entry[], Queued[]]): Promise<void> {
    if (this.local) return;
    try {
      await (this.down ? this.#probe(entries, queued) : this.#write(entries, queued));
    } catch (error) {
      this.#lastError = error;
      for (const e of entries) {
        e.sending = 0;
        if (e.state === UNKNOWN) e.state = DOWN;
        this.#wake(e);
      }
      for (const q of queued) q.resolve(this.#fallbackOp(q.limit, q.op));
    }
  }

  async #write(entries: Entry[], queued: Queued[]): Promise<void> {
    const ops: BatchOp[] = [];
    for (const e of entries) {
      e.queued = false;
      e.sending = e.pending;
      e.pending = 0;
      ops.push({ op: 'add', key: e.counter.prefix + e.key, n: e.sending, ms: e.counter.durationMs });
    }
    // Exact ops, one per key (a batch names each key once): a write wins over reads of the same key.
    const byKey = new Map<string, Queued[]>();
    for (const q of queued) {
      const list = byKey.get(q.op.key);
      if (list) list.push(q);
      else byKey.set(q.op.key, [q]);
    }
    const exact: Queued[][] = [];
    const counted = byKey.size ? new Set(ops.map((o) => o.key)) : null;
    for (const [key, list] of byKey) {
      if (counted!.has(key)) {
        // Never in practice (bans and counters have their own keys): answered after this flush.
        for (const q of list) this.#queue.push(q);
        continue;
      }
      const write = list.findLast((q) => q.op.op === 'set');
      ops.push(write ? write.op : list[0]!.op);
      exact.push(list);
    }
    this.calls += ops.length;

    let results: (Reading | null | Error)[];
    let whole: unknown = null;
    try {
      results = ops.length ? await withTimeout(this.#backend.batch(ops), this.#config.timeoutMs, storeTimedOut) : [];
    } catch (error) {
      whole = error;
      results = ops.map(() => error as Error);
    }
    if (whole !== null) {
      this.#lastError = whole;
      this.down = true;
    }
    const now = Date.now();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const r = results[i];
      // Dropped either way: a write that failed or timed out is not sent again (it may have landed).
      e.sending = 0;
      if (r instanceof Error || r === undefined || r === null) {
        // Counted as a failure by the decisions it leaves to the insurance limiter.
        if (whole === null) this.#lastError = r ?? null;
        e.state = DOWN;
        if (whole === null) this.retry(e);
      } else {
        e.count = r.count;
        e.resetAt = r.ttlMs < 0 ? Number.POSITIVE_INFINITY : now + r.ttlMs;
        e.state = KNOWN;
      }
      this.#wake(e);
    }
    for (let j = 0; j < exact.length; j++) {
      const r = results[entries.length + j];
      for (const q of exact[j]!) {
        if (r instanceof Error || r === undefined) {
          if (whole === null) this.#lastError = r ?? null;
          q.resolve(this.#fallbackOp(q.limit, q.op));
        } else q.resolve(r);
      }
    }
  }

  /** While the store is down: one ping; the queue is answered by the insurance limiter meanwhile. */
  async #probe(entries: Entry[], queued: Queued[]): Promise<void> {
    for (const q of queued) q.resolve(this.#fallbackOp(q.limit, q.op));
    let up = false;
    try {
      this.calls++;
      await withTimeout(this.#backend.batch([]), this.#config.timeoutMs, storeTimedOut);
      up = true;
    } catch (error) {
      this.#lastError = error;
    }
    if (up) this.down = false;
    for (const e of entries) {
      e.queued = false;
      // Read by the next flush, now that the store answers (entries waiting or unknown, or failed).
      if (up && (e.state !== KNOWN || e.pending > 0)) this.retry(e);
      else if (!up) this.retry(e);
      this.#wake(e);
    }
  }

  #wake(e: Entry): void {
    const waiters = e.waiters;
    if (!waiters) return;
    e.waiters = null;
    for (const w of waiters) w();
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
      if (!this.down && !this.#dirty.some((e) => e.pending > 0 || e.state === DOWN)) break;
    }
    for (const counter of this.#counters) {
      for (const [key, e] of counter.entries) {
        if (e.waiters || e.queued || e.pending || e.sending) continue;
        counter.entries.delete(key);
      }
    }
    return !this.down;
  }

  /** Drops entries nobody will ask about: windows ended, nothing pending or awaited. */
  #sweep(): void {
    const now = Date.now();
    for (const counter of this.#counters) {
      for (const [key, e] of counter.entries) {
        if (e.waiters || e.queued || e.pending || e.sending) continue;
        if (e.state !== KNOWN || now >= e.resetAt) counter.entries.delete(key);
      }
    }
  }

  /** Stops the timers after a last flush of what is pending (bounded by the store timeout). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    clearInterval(this.#sweeper);
    while (this.#flushing) await this.#flushing;
    if (!this.local && (this.#dirty.length || this.#queue.length)) await this.#flush(this.#take());
    this.#backend.close();
  }
}

/**
 * An exact limit (messages per day, failed authentications, ban escalation) or a ban register,
 * on the store: consumes are atomic store calls; reads and ban writes ride the next flush.
 */
export class GuardedLimiter {
  readonly name: string;
  readonly points: number;
  readonly duration: number;
  readonly #store: Store;
  readonly #prefix: string;

  constructor(name: string, points: number, duration: number, store: Store) {
    this.name = name;
    this.points = points;
    this.duration = duration;
    this.#store = store;
    this.#prefix = `${store.prefix}${name}:`;
  }

  /** `cost` more if it stays within the limit (atomic); a refusal adds nothing and is an outcome, not an error. */
  async consume(key: string, cost: number, failClosed = false): Promise<Outcome> {
    const r = await this.#store.take(
      this.name,
      this.#prefix + key,
      cost,
      this.points,
      this.duration * 1000,
      failClosed,
    );
    return {
      allowed: r.allowed,
      consumed: r.count,
      remaining: Math.max(0, this.points - r.count),
      msBeforeNext: r.ttlMs,
    };
  }

  async get(key: string): Promise<Outcome | null> {
    const r = await this.#store.read(this.name, this.#prefix + key);
    return r
      ? {
          allowed: r.count <= this.points,
          consumed: r.count,
          remaining: Math.max(0, this.points - r.count),
          msBeforeNext: r.ttlMs,
        }
      : null;
  }

  /** Blocks a key for `seconds` (its count set past the limit, as rate-limiter-flexible's block did). */
  async block(key: string, seconds: number): Promise<void> {
    await this.#store.write(this.name, this.#prefix + key, this.points + 1, seconds * 1000);
  }

  async delete(key: string): Promise<void> {
    await this.#store.del(this.name, [this.#prefix + key]);
  }
}
