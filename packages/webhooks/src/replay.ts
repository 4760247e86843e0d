/**
 * Which inbound deliveries were already processed (replay protection), shared across replicas when
 * the store is Postgres or Redis. A key goes through two states: `processing` while a handler runs
 * (a concurrent duplicate is told to come back later), then `done` for the rest of the window (a
 * duplicate is acknowledged without running the handler again). A handler that fails releases the
 * key, so the sender's retry is processed.
 */
import type { Database } from '@harakaflow/db';
import { eq, sql } from 'drizzle-orm';
import { seen } from './schema.js';

export type ClaimResult = 'new' | 'processing' | 'done';

export interface ReplayStore {
  claim(key: string, ttlMs: number): Promise<ClaimResult>;
  complete(key: string, ttlMs: number): Promise<void>;
  release(key: string): Promise<void>;
}

/** One process only: for a single instance and for tests. Bounded by expiry sweeps. */
export function memoryReplayStore(now: () => number = Date.now): ReplayStore {
  const map = new Map<string, { state: 'processing' | 'done'; expires: number }>();
  let sweepAt = 0;
  const sweep = () => {
    const t = now();
    if (t < sweepAt) return;
    sweepAt = t + 10_000;
    for (const [k, v] of map) if (v.expires <= t) map.delete(k);
  };
  return {
    async claim(key, ttlMs) {
      sweep();
      const found = map.get(key);
      if (found && found.expires > now()) return found.state;
      map.set(key, { state: 'processing', expires: now() + ttlMs });
      return 'new';
    },
    async complete(key, ttlMs) {
      map.set(key, { state: 'done', expires: now() + ttlMs });
    },
    async release(key) {
      map.delete(key);
    },
  };
}

/** In `webhooks.seen`: one statement claims a new or expired key atomically. */
export function postgresReplayStore(db: Database, now: () => Date = () => new Date()): ReplayStore {
  return {
    async claim(key, ttlMs) {
      const at = now();
      const expires = new Date(at.getTime() + ttlMs);
      const claimed = await db
        .insert(seen)
        .values({ key, state: 'processing', expiresAt: expires })
        .onConflictDoUpdate({
          target: seen.key,
          set: { state: 'processing', expiresAt: expires },
          setWhere: sql`${seen.expiresAt} <= ${at.toISOString()}::timestamptz`,
        })
        .returning({ key: seen.key });
      if (claimed.length) return 'new';
      const [row] = await db.select({ state: seen.state }).from(seen).where(eq(seen.key, key));
      return row?.state === 'done' ? 'done' : 'processing';
    },
    async complete(key, ttlMs) {
      await db
        .update(seen)
        .set({ state: 'done', expiresAt: new Date(now().getTime() + ttlMs) })
        .where(eq(seen.key, key));
    },
    async release(key) {
      await db.delete(seen).where(eq(seen.key, key));
    },
  };
}

/** The ioredis calls this needs. */
export interface RedisLike {
  set(key: string, value: string, px: 'PX', ttl: number, nx: 'NX'): Promise<'OK' | null>;
  set(key: string, value: string, px: 'PX', ttl: number): Promise<'OK' | null>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
}

/** In Redis (SET NX PX): shared by every replica, expired by Redis itself. */
export function redisReplayStore(redis: RedisLike, prefix = 'hf:webhooks:seen:'): ReplayStore {
  return {
    async claim(key, ttlMs) {
      if ((await redis.set(prefix + key, 'processing', 'PX', ttlMs, 'NX')) === 'OK') return 'new';
      return (await redis.get(prefix + key)) === 'done' ? 'done' : 'processing';
    },
    async complete(key, ttlMs) {
      await redis.set(prefix + key, 'done', 'PX', ttlMs);
    },
    async release(key) {
      await redis.del(prefix + key);
    },
  };
}
