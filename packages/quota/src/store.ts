/**
 * Limiters on one store (memory, Postgres through rate-limiter-flexible's Drizzle store, or Redis
 * through ioredis), each guarded: a store call that errors or takes longer than `timeoutMs` falls
 * back to an in-memory insurance limiter of the same shape (logged), or, for a fail-closed limit,
 * raises HF_QUOTA_UNAVAILABLE. Every store call is counted (`calls`), which is how the tests show
 * that a banned client costs none.
 */
import type { Database } from '@harakaflow/db';
import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { withTimeout } from '@harakaflow/core';
import { QuotaUnavailable } from './errors.js';
import { rateLimits } from './schema.js';

export type StoreKind = 'memory' | 'postgres' | 'redis';

export interface StoreConfig {
  kind: StoreKind;
  db?: Database | undefined;
  /** An ioredis client. */
  redis?: unknown;
  timeoutMs: number;
  /** Prefix of every store key. Default 'hf:quota:'. */
  keyPrefix?: string | undefined;
  /** The insurance limiter answers a call the store failed (logged, counted). */
  onFallback: (limit: string, error: unknown) => void;
  /** Every failed or timed-out store call, fail-closed ones included (the store-failure metric). */
  onStoreFailure?: ((limit: string) => void) | undefined;
}

export interface Outcome {
  allowed: boolean;
  consumed: number;
  remaining: number;
  msBeforeNext: number;
}

const asOutcome = (res: RateLimiterRes, points: number, allowed: boolean): Outcome => ({
  allowed,
  consumed: res.consumedPoints,
  remaining: Math.max(0, points - res.consumedPoints),
  msBeforeNext: res.msBeforeNext,
});

const storeTimedOut = () => Object.assign(new Error('quota store timed out'), { code: 'HF_QUOTA_STORE_TIMEOUT' });

export class GuardedLimiter {
  readonly name: string;
  readonly points: number;
  readonly duration: number;
  readonly #store: RateLimiterAbstract;
  readonly #insurance: RateLimiterMemory;
  readonly #config: StoreConfig;
  /** Store calls made (consume, get, block, delete, reward). */
  calls = 0;

  constructor(name: string, points: number, duration: number, config: StoreConfig) {
    this.name = name;
    this.points = points;
    this.duration = duration;
    this.#config = config;
    const keyPrefix = `${config.keyPrefix ?? 'hf:quota:'}${name}`;
    const base = { points, duration, keyPrefix };
    if (config.kind === 'redis') this.#store = new RateLimiterRedis({ ...base, storeClient: config.redis, rejectIfRedisNotReady: true });
    else if (config.kind === 'postgres') this.#store = new RateLimiterDrizzle({ ...base, storeClient: config.db, schema: rateLimits });
    else this.#store = new RateLimiterMemory(base);
    this.#insurance = new RateLimiterMemory(base);
  }

  async #guard<T>(call: (limiter: RateLimiterAbstract) => Promise<T>, failClosed: boolean): Promise<T> {
    if (this.#config.kind === 'memory') {
      this.calls++;
      return call(this.#store);
    }
    this.calls++;
    try {
      return await withTimeout(call(this.#store), this.#config.timeoutMs, storeTimedOut);
    } catch (error) {
      if (error instanceof RateLimiterRes) throw error;
      this.#config.onStoreFailure?.(this.name);
      if (failClosed) throw new QuotaUnavailable();
      this.#config.onFallback(this.name, error);
      return call(this.#insurance);
    }
  }

  /** Consumes `cost` points for `key`; a refusal is an outcome, not an error. */
  async consume(key: string, cost: number, failClosed = false): Promise<Outcome> {
    try {
      const res = await this.#guard((l) => l.consume(key, cost), failClosed);
      return asOutcome(res, this.points, true);
    } catch (error) {
      if (error instanceof RateLimiterRes) return asOutcome(error, this.points, false);
      throw error;
    }
  }

  /** Gives points back (a request refused by another limit does not consume this one). */
  async reward(key: string, cost: number): Promise<void> {
    await this.#guard((l) => l.reward(key, cost), false).catch(() => undefined);
  }

  async get(key: string): Promise<Outcome | null> {
    const res = await this.#guard((l) => l.get(key), false);
    return res ? asOutcome(res, this.points, res.consumedPoints <= this.points) : null;
  }

  async block(key: string, seconds: number): Promise<void> {
    await this.#guard((l) => l.block(key, seconds), false);
  }

  async delete(key: string): Promise<void> {
    await this.#guard((l) => l.delete(key), false);
  }
}
