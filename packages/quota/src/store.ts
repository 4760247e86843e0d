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
import { withTimeout } from '@harakaflow/core';
import type { BatchOp, Reading, Taken } from './backend.js';
import { TakeCoalescer } from './coalesce.js';
import { QuotaUnavailable } from './errors.js';
import { MemoryBackend } from './memory-store.js';
import { storeTimedOut, type StoreConfig } from './store-config.js';
import { Counter, Entry, KNOWN, UNKNOWN } from './store-entries.js';
import { WriteBehind } from './store-write-behind.js';

/** The store's decisions and exact operations, over its write-behind machinery (store-write-behind.ts). */
export class Store extends WriteBehind {
  /**
   * The most admissions of one key this replica has held not yet written and read back (pending
   * and in flight): the term of the over-admission bound (README) this replica contributes.
   */
  unsyncedPeak = 0;
  readonly #takes = new TakeCoalescer();
  readonly #memory: MemoryBackend | null;

  constructor(config: StoreConfig) {
    super(config);
    this.#memory = this.backend instanceof MemoryBackend ? this.backend : null;
  }

  counter(name: string, points: number, durationSeconds: number): Counter {
    const counter = new Counter(name, points, durationSeconds * 1000, `${this.prefix}${name}:`);
    this.counters.push(counter);
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
      this.dirty.push(e);
    }
    if ((this.unsent += n) >= this.flushIncrements) this.flushSoon();
    else this.arm();
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
          this.dirty.push(e);
        }
      }
      if (left === 0) return resolve();
      this.waiting = true;
      this.flushSoon();
    });
  }

  /** A decision of `limit` the store could not make (down, or the key unreadable): the insurance limiter answered. */
  insured(limit: string): void {
    this.config.onStoreFailure?.(limit);
    this.config.onFallback(limit, this.lastError ?? storeTimedOut());
  }

  /** A decision of a fail-closed limit that found the store down or the key unreadable. */
  unavailable(limit: string): Error {
    this.config.onStoreFailure?.(limit);
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
    if (this.down) return Promise.resolve(this.fallbackOp(limit, { op: 'get', key }));
    return this.#enqueue(limit, { op: 'get', key });
  }

  /** Sets a key's count for `ms` (a ban): in the next flush, at once. Fail-open. */
  write(limit: string, key: string, n: number, ms: number): Promise<Reading | null> {
    if (this.#memory) return this.#memoryCall(() => this.#memory!.set(key, n, ms));
    if (this.down) return Promise.resolve(this.fallbackOp(limit, { op: 'set', key, n, ms }));
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
        return withTimeout(this.backend.take(key, sum, max, ms), this.timeoutMs, storeTimedOut);
      });
    } catch (error) {
      this.lastError = error;
      this.config.onStoreFailure?.(limit);
      if (failClosed) throw new QuotaUnavailable();
      this.config.onFallback(limit, error);
      return this.insurance.takeNow(key, n, max, ms);
    }
  }

  /** Deletes keys (unban, erasure), here and in the insurance limiter; a failure is counted and logged, not thrown. */
  async del(limit: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) this.insurance.delete(key);
    this.calls += keys.length;
    if (this.#memory) return this.#memory.del(keys);
    try {
      await withTimeout(this.backend.del(keys), this.timeoutMs, storeTimedOut);
    } catch (error) {
      this.lastError = error;
      this.config.onStoreFailure?.(limit);
      this.config.onFallback(limit, error);
    }
  }

  #memoryCall(call: () => Reading | null): Promise<Reading | null> {
    this.calls++;
    return Promise.resolve(call());
  }

  #enqueue(limit: string, op: BatchOp): Promise<Reading | null> {
    return new Promise((resolve) => {
      this.queue.push({ op, limit, resolve });
      this.waiting = true;
      this.flushSoon();
    });
  }
}
