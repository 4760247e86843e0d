/**
 * Failed authentications per client, checked before a presented credential is looked up, so key
 * guessing past the limit costs no lookup. A client with no failure known here whose clean state
 * was read within `checkMs` passes from memory: an authenticated request costs no store call. Any
 * failure makes this replica read the shared count again, so a client guessing across replicas
 * gets at most one guess more per replica than the limit before each of them refuses it.
 */
import { ExpiringSet } from './cache.js';
import type { LimitSpec } from './core.js';
import type { GuardedLimiter } from './store-guarded.js';

export type GateAnswer = { refused: false } | { refused: true; msBeforeNext: number };

export class AuthGate {
  readonly spec: LimitSpec;
  readonly #limiter: GuardedLimiter;
  /** Clients with a failure known here; forgotten with the limit's window. */
  readonly #failing = new ExpiringSet(50_000);
  /** Clients whose read found no failure, trusted for checkMs. */
  readonly #clean = new ExpiringSet(50_000);
  readonly #checkMs: number;

  constructor(spec: LimitSpec, limiter: GuardedLimiter, checkMs: number) {
    this.spec = spec;
    this.#limiter = limiter;
    this.#checkMs = checkMs;
  }

  /** True when the client passes from memory (see the module comment). */
  clear(key: string): boolean {
    const now = Date.now();
    return !this.#failing.has(key, now) && this.#clean.has(key, now);
  }

  /** Whether the client has used up its failed authentications, reading the store unless clear(). */
  async check(key: string): Promise<GateAnswer> {
    if (this.clear(key)) return { refused: false };
    const state = await this.#limiter.get(key);
    if (!state || state.consumed === 0 || state.msBeforeNext <= 0) {
      this.#failing.delete(key);
      this.#clean.set(key, Date.now() + this.#checkMs);
      return { refused: false };
    }
    this.#markFailing(key);
    return state.consumed < this.spec.points ? { refused: false } : { refused: true, msBeforeNext: state.msBeforeNext };
  }

  /** Counts one failed authentication. */
  async failed(key: string): Promise<void> {
    await this.#limiter.consume(key, 1);
    this.#markFailing(key);
  }

  #markFailing(key: string): void {
    this.#failing.set(key, Date.now() + this.spec.duration * 1000);
    this.#clean.delete(key);
  }
}
