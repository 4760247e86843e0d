/** What @harakaflow/quota adds to Fastify's types: `fastify.quota` and the routes' `config.quota`. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LimitSpec } from './core.js';
import type { RouteQuota } from './options.js';

export interface QuotaDecorator {
  /**
   * Bans a key for `seconds`; audited. A client key (`ip:...`, `ip6:.../64`, as `clientKey` of core
   * gives it) is stored under its keyed form when `clientKeys` has a secret; any other key is an
   * account id (or `acct:<id>`), banned in the accounts' key space.
   */
  ban(key: string, seconds: number, reason: string): Promise<void>;
  /** Lifts a ban; audited. Other replicas that cached the ban keep refusing until their cached copy ends. */
  unban(key: string): Promise<void>;
  /** Usage totals per metric of an account between two UTC days. */
  usage(accountId: string, range: { from: string; to: string }): Promise<Record<string, number>>;
  /** Counts usage of a metric outside the request hooks. */
  meter(accountId: string, metric: string, n?: number): void;
  /** The limits and current state of an account (for GET /v1/usage). */
  status(
    accountId: string,
    plan: string,
  ): Promise<{ plan: string; limits: { name: string; limit: number; used: number; resetAt: Date | null }[] }>;
  /**
   * Before a presented credential is looked up: answers 429 (and returns true) when the client IP
   * has used up its failed authentications, counting the refusal toward a ban like any other limit.
   * Call it from the authentication hook, so key guessing costs no lookup past the limit.
   */
  authGate(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
  /** Counts one failed authentication against the client IP. */
  authFailed(request: FastifyRequest): Promise<void>;
  /**
   * True when authGate would let this request through without a store call (no failure known for
   * its client, whose clean state was read within banCheckIntervalMs): a caller may then skip the
   * gate's promise on its hot path. False says nothing; call authGate.
   */
  authClear(request: FastifyRequest): boolean;
  /**
   * Counts `cost` (default 1) of a limit under a key the caller names (a sender's address), outside
   * any request: one exact, atomic store call; the key is stored as an HMAC (`nk:`), never as given.
   * Never toward a ban. Fails closed: a store it cannot reach throws HF_QUOTA_UNAVAILABLE.
   */
  take(spec: LimitSpec, key: string, cost?: number): Promise<{ allowed: boolean; remaining: number; resetMs: number }>;
  /** The key quota stores a request's client under (`ipk:...` with a secret, else `ip:...`/`ip6:...`). */
  clientKey(request: FastifyRequest): string;
  /** Store calls made so far (every key of a flush, every exact call): tests and the benchmark count them. */
  storeCalls(): number;
  /**
   * Writes this replica's counts not yet written (request limits are counted here and written
   * behind, every 50 ms) and forgets the global counts it knew, so its next decision of each key
   * reads the store. Once every replica has synced, each sees all their counts. Resolves true when
   * the store answered. For tests and operators' checks; requests never need it.
   */
  sync(): Promise<boolean>;
  /**
   * The most admissions of one key this replica has held not yet written to the shared store: its
   * term of the over-admission bound (README, "Counters written behind"). 0 on the memory store.
   */
  unsyncedPeak(): number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route quota: false for none, or extra limits, messages, fail-closed (@harakaflow/quota). */
    quota?: false | RouteQuota;
  }
  interface FastifyInstance {
    /** Quotas, bans, usage (@harakaflow/quota). */
    quota: QuotaDecorator;
  }
}
