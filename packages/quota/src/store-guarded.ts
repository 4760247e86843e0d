/** Exact limits and ban registers on the quota store: atomic consumes, reads and ban writes (store.ts). */
import type { Outcome } from './store-config.js';
import type { Store } from './store.js';

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
