/** The quota store's configuration, the outcome its limiters answer, and its timeout error (store.ts). */
import type { Database } from '@harakaflow/db';

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

/** The error a store call that outlasted `timeoutMs` fails with. */
export const storeTimedOut = () =>
  Object.assign(new Error('quota store timed out'), { code: 'HF_QUOTA_STORE_TIMEOUT' });
