/**
 * Counts in this process: the memory store, and the insurance limiter every shared store falls
 * back to. Windows are fixed and start at a key's first count; an ended window is dropped when its
 * key is next touched, and a sweep at most every 10 s drops those nobody touched again.
 */
import type { Backend, BatchOp, Reading, Taken } from './backend.js';

interface Slot {
  count: number;
  expiresAt: number;
}

const SWEEP_MS = 10_000;

export class MemoryBackend implements Backend {
  readonly #slots = new Map<string, Slot>();
  #lastSweep = Date.now();

  #live(key: string, now: number): Slot | undefined {
    const slot = this.#slots.get(key);
    if (slot !== undefined && slot.expiresAt <= now) {
      this.#slots.delete(key);
      return undefined;
    }
    return slot;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < SWEEP_MS) return;
    this.#lastSweep = now;
    for (const [key, slot] of this.#slots) if (slot.expiresAt <= now) this.#slots.delete(key);
  }

  add(key: string, n: number, ms: number, now = Date.now()): Reading {
    let slot = this.#live(key, now);
    if (slot === undefined) {
      this.#sweep(now);
      this.#slots.set(key, (slot = { count: 0, expiresAt: now + ms }));
    }
    slot.count += n;
    return { count: slot.count, ttlMs: slot.expiresAt - now };
  }

  /** The count of a key, 0 when it has none (no window started). */
  count(key: string, now = Date.now()): number {
    return this.#live(key, now)?.count ?? 0;
  }

  get(key: string, now = Date.now()): Reading | null {
    const slot = this.#live(key, now);
    return slot === undefined ? null : { count: slot.count, ttlMs: slot.expiresAt - now };
  }

  takeNow(key: string, n: number, max: number, ms: number, now = Date.now()): Taken {
    const slot = this.#live(key, now);
    const count = slot?.count ?? 0;
    if (count + n > max) return { allowed: false, count, ttlMs: slot === undefined ? ms : slot.expiresAt - now };
    return { allowed: true, ...this.add(key, n, ms, now) };
  }

  set(key: string, n: number, ms: number, now = Date.now()): Reading {
    this.#sweep(now);
    this.#slots.set(key, { count: n, expiresAt: now + ms });
    return { count: n, ttlMs: ms };
  }

  delete(key: string): void {
    this.#slots.delete(key);
  }

  batchNow(ops: readonly BatchOp[]): (Reading | null)[] {
    return ops.map((o) =>
      o.op === 'add' ? this.add(o.key, o.n, o.ms) : o.op === 'set' ? this.set(o.key, o.n, o.ms) : this.get(o.key),
    );
  }

  batch(ops: readonly BatchOp[]): Promise<(Reading | null)[]> {
    return Promise.resolve(this.batchNow(ops));
  }

  take(key: string, n: number, max: number, ms: number): Promise<Taken> {
    return Promise.resolve(this.takeNow(key, n, max, ms));
  }

  del(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.delete(key);
    return Promise.resolve();
  }

  close(): void {
    this.#slots.clear();
  }
}
