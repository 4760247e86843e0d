/**
 * What a quota store (memory, Redis, Postgres) does for the Store (store.ts): a batch of key
 * operations in one round trip (one per node of a Redis Cluster), an atomic conditional consume
 * (the exact limits: messages per day, failed authentications, ban escalation), and deletes.
 *
 * Every key holds an integer count and the end of its window, as rate-limiter-flexible kept them
 * before (a Redis string with a TTL, a `quota.rate_limits` row with `expire`), so a replica of the
 * previous version and this one read and write the same keys.
 */

/** One key's count and the ms left of its window (-1: no expiry). */
export interface Reading {
  count: number;
  ttlMs: number;
}

export interface Taken extends Reading {
  /** False: `count + n` would pass `max`, nothing was added (`count` is what the key holds). */
  allowed: boolean;
}

/**
 * `add`: n more on the key (its window of `ms` starts when the key is created; n = 0 reads it and
 * starts the window). `get`: the key, or null. `set`: the key's count is n for `ms` (a ban).
 */
export type BatchOp =
  | { op: 'add'; key: string; n: number; ms: number }
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; n: number; ms: number };

export interface Backend {
  /**
   * Every op in one round trip (one per node of a cluster), results in order: a reading, null for
   * a `get` of a missing key, or the Error of an op whose part failed. No ops: a probe (ping).
   * Keys are distinct within one batch.
   */
  batch(ops: readonly BatchOp[]): Promise<(Reading | null | Error)[]>;
  /** Atomically: n more on the key if its count + n stays within max, else nothing. */
  take(key: string, n: number, max: number, ms: number): Promise<Taken>;
  del(keys: readonly string[]): Promise<void>;
  close(): void;
}
