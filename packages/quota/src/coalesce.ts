/**
 * Exact consumes of one key, coalesced per replica (issue 29 item 3). Fifty concurrent sends of one
 * account each made their own atomic call, all on one row (Postgres) or key (Redis): on a loaded
 * machine the calls queued behind each other past the store's timeout and fail-closed limits
 * answered 503. Here at most one call per key is in flight; the takes that arrive meanwhile wait
 * for it and then go as one call for their sum.
 *
 * Exactness is kept: every call is still the store's atomic "n more if it stays within max". When
 * the sum does not fit, the call's refusal says what the key holds; the waiting takes are then
 * admitted in arrival order while they fit and their sum is taken atomically in its turn. Only when
 * that call succeeds are the others refused: each of them, in that order, would have passed the
 * limit alone, as the store then held. Another replica taking in between makes the call refuse
 * again with a newer count: the batch is decided again, a few rounds at most, then each take goes
 * alone.
 */
import type { Taken } from './backend.js';

/** One atomic call: `n` more on the key if it stays within `max`, else nothing (what it holds). */
export type TakeCall = (n: number) => Promise<Taken>;

interface Waiting {
  n: number;
  resolve: (taken: Taken) => void;
  reject: (error: unknown) => void;
}

interface Line {
  /** The limit every take of the line is measured against. */
  max: number;
  /** Takes that arrived while a call of the key was in flight, in arrival order. */
  waiting: Waiting[];
}

/** Rounds of "decide from the count, take the admitted sum" before each take goes alone. */
const ROUNDS = 3;

export class TakeCoalescer {
  readonly #lines = new Map<string, Line>();

  /**
   * Takes `n` on `line` (a key and its limit, `max`) through `call` (atomic, all or nothing),
   * coalesced with the takes of the same line that arrive while one is in flight. `call` fails:
   * every take it carried fails with it.
   */
  take(key: string, n: number, max: number, call: TakeCall): Promise<Taken> {
    const line = this.#lines.get(key);
    if (line) return new Promise<Taken>((resolve, reject) => line.waiting.push({ n, resolve, reject }));
    const own: Line = { max, waiting: [] };
    this.#lines.set(key, own);
    return call(n).finally(() => this.#drain(key, own, call));
  }

  /** Keys with a call in flight (for tests: nothing left behind). */
  get size(): number {
    return this.#lines.size;
  }

  #drain(key: string, line: Line, call: TakeCall): void {
    const batch = line.waiting;
    if (!batch.length) {
      this.#lines.delete(key);
      return;
    }
    line.waiting = [];
    // The line stays open while this batch is decided: later takes wait for the next round.
    void this.#decide(batch, line.max, call)
      .catch((error: unknown) => {
        for (const w of batch) w.reject(error);
      })
      .finally(() => this.#drain(key, line, call));
  }

  async #decide(batch: Waiting[], max: number, call: TakeCall): Promise<void> {
    let fit = batch;
    let sum = batch.reduce((s, w) => s + w.n, 0);
    for (let round = 0; round <= ROUNDS; round++) {
      const taken = await call(sum);
      if (taken.allowed) {
        // The key held `taken.count - sum` before the call: each admitted take's count as if it went
        // alone, in order; every other take of the batch is refused at what the key holds now.
        let count = taken.count - sum;
        const admitted = new Set(fit);
        for (const w of batch)
          w.resolve(
            admitted.has(w)
              ? { allowed: true, count: (count += w.n), ttlMs: taken.ttlMs }
              : { allowed: false, count: taken.count, ttlMs: taken.ttlMs },
          );
        return;
      }
      // Refused: the whole batch decided again from what the key holds, admitted in order while they fit.
      fit = [];
      sum = 0;
      for (const w of batch) {
        if (taken.count + sum + w.n <= max) {
          fit.push(w);
          sum += w.n;
        }
      }
      if (!fit.length) {
        for (const w of batch) w.resolve({ allowed: false, count: taken.count, ttlMs: taken.ttlMs });
        return;
      }
    }
    // Still racing other replicas: each take alone, in order.
    for (const w of batch) w.resolve(await call(w.n));
  }
}
