/**
 * The ban book: who is banned, and the escalation that bans them. Plain code over three store
 * limiters (no Fastify): `violations` counts refusals per key within the ban window, `level` how
 * many bans a key has had this week (each lasts longer), `bans` the bans themselves (a blocked key).
 * Bans are read and written in the store's flush (one round trip with the counters); refusals and
 * levels are atomic consumes.
 *
 * Its block cache answers the hot path from memory: keys known to be banned (until when) and keys
 * read recently and found not banned (trusted for `checkMs`). Both are bounded (cache.ts) and their
 * entries expire by themselves; one that is evicted costs a store read, never a wrong answer, and
 * no cliff sends every client's check to the store at once.
 */
import { ExpiringSet } from './cache.js';
import { banDuration } from './core.js';

/** What the book needs of a limiter (GuardedLimiter has it). */
export interface BanLimiter {
  consume(key: string, points: number): Promise<{ consumed: number }>;
  get(key: string): Promise<{ consumed: number; msBeforeNext: number } | null>;
  block(key: string, seconds: number): Promise<void>;
  delete(key: string): Promise<unknown>;
}

export interface BanBookOptions {
  bans: BanLimiter;
  violations: BanLimiter;
  level: BanLimiter;
  /** Refusals within the window that ban a key. */
  after: number;
  windowSeconds: number;
  /** Ban durations in seconds, as they escalate. */
  durations: number[];
  /** How long a key found not banned is trusted, ms. */
  checkMs: number;
  /** Bounded size of each cache. Default 50,000. */
  cacheSize?: number;
}

export interface AppliedBan {
  seconds: number;
  reason: string;
}

export class BanBook {
  readonly #o: BanBookOptions;
  readonly #banned: ExpiringSet;
  readonly #clear: ExpiringSet;

  constructor(options: BanBookOptions) {
    this.#o = options;
    const max = options.cacheSize ?? 50_000;
    this.#banned = new ExpiringSet(max);
    this.#clear = new ExpiringSet(max);
  }

  /**
   * From memory alone: the ms a key stays banned (> 0), 0 when it was found not banned within
   * `checkMs`, undefined when only the store knows.
   */
  cached(key: string, now = Date.now()): number | undefined {
    const until = this.#banned.until(key, now);
    if (until !== undefined) return until - now;
    return this.#clear.has(key, now) ? 0 : undefined;
  }

  /** The ms a key stays banned, 0 when it is not: from the cache, else one store read (then cached). */
  async remainingMs(key: string): Promise<number> {
    const now = Date.now();
    const known = this.cached(key, now);
    if (known !== undefined) return known;
    const state = await this.#o.bans.get(key);
    if (state && state.consumed > 1 && state.msBeforeNext > 0) {
      this.#remember(key, now, state.msBeforeNext);
      return state.msBeforeNext;
    }
    this.#clear.set(key, now + this.#o.checkMs);
    return 0;
  }

  /**
   * The longest remaining ban of the keys, from memory when the cache knows every form (a number:
   * the hot path, no promise), else after a store read (a promise).
   */
  check(keys: string[]): number | Promise<number> {
    const now = Date.now();
    const first = this.cached(keys[0]!, now);
    if (first !== undefined && (first > 0 || keys.length === 1)) return first;
    if (first === 0) {
      let known = true;
      for (let i = 1; i < keys.length && known; i++) {
        const ms = this.cached(keys[i]!, now);
        if (ms === undefined) known = false;
        else if (ms > 0) {
          this.#remember(keys[0]!, now, ms);
          return ms;
        }
      }
      if (known) return 0;
    }
    return this.anyRemainingMs(keys);
  }

  /** The longest remaining ban of any of the keys (a client under its stored and legacy forms). */
  async anyRemainingMs(keys: string[]): Promise<number> {
    const first = await this.remainingMs(keys[0]!);
    if (first > 0 || keys.length === 1) return first;
    for (const key of keys.slice(1)) {
      const ms = await this.remainingMs(key);
      if (ms > 0) {
        this.#remember(keys[0]!, Date.now(), ms);
        return ms;
      }
    }
    return 0;
  }

  /** Bans every form of a key for `seconds`. */
  async ban(keys: string[], seconds: number): Promise<void> {
    for (const key of keys) {
      await this.#o.bans.block(key, seconds);
      this.#remember(key, Date.now(), seconds * 1000);
    }
  }

  /**
   * A refusal of `keys[0]`: counted; the `after`-th within the window bans every form of the key,
   * for longer each time. Returns the ban applied, or null.
   */
  async violation(keys: string[]): Promise<AppliedBan | null> {
    const { violations, level, after, windowSeconds, durations } = this.#o;
    const key = keys[0]!;
    const v = await violations.consume(key, 1);
    if (v.consumed < after) return null;
    await violations.delete(key);
    const l = await level.consume(key, 1);
    const seconds = banDuration(durations, l.consumed);
    await this.ban(keys, seconds);
    return { seconds, reason: `${after} refusals within ${windowSeconds} s` };
  }

  /** Lifts the bans of every form of a key, and its count of refusals. */
  async lift(keys: string[]): Promise<void> {
    for (const key of keys) {
      await this.#o.bans.delete(key);
      await this.#o.violations.delete(key);
      this.forget(key);
    }
  }

  /** Erasure: every trace of the keys in the store (bans, refusals, escalation) and in the caches. */
  async erase(keys: string[]): Promise<void> {
    for (const key of keys) {
      for (const l of [this.#o.bans, this.#o.violations, this.#o.level]) await l.delete(key).catch(() => undefined);
      this.forget(key);
    }
  }

  /** When a key's ban ends, from the store (for an export), or null. */
  async bannedUntil(key: string): Promise<Date | null> {
    const state = await this.#o.bans.get(key).catch(() => null);
    return state && state.consumed > 1 && state.msBeforeNext > 0 ? new Date(Date.now() + state.msBeforeNext) : null;
  }

  forget(key: string): void {
    this.#banned.delete(key);
    this.#clear.delete(key);
  }

  #remember(key: string, now: number, ms: number): void {
    this.#banned.set(key, now + ms);
    this.#clear.delete(key);
  }
}
