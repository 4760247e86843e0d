/**
 * Fail fast while the database is unreachable, and notice at once when it is back (issue 28 item 6).
 *
 * postgres.js keeps a query waiting for a connection while it cannot connect: 3.x, once a few
 * attempts failed, holds every later query until a connection succeeds, however long the outage;
 * 4.x holds them until `connect_timeout`. A request then hangs instead of answering 503, and the
 * audit writer's batches hang until their own timeout, so it spills late and its memory grows.
 *
 * So the pool is put behind a gate. A query that fails with a connection-class error (refused,
 * reset, closed, SQLSTATE 08xxx, 57P01-03: `isConnectionLoss`) makes the gate probe the server on
 * a connection of its own (no backoff); if that fails too, the database is `down` and every new
 * query and transaction is refused at once with `HF_DB_UNAVAILABLE` (a connection-loss code: the app
 * answers 503 HF_DATABASE_UNAVAILABLE). While down it probes every `PROBE_EVERY_MS`; the first
 * probe (or query) that succeeds opens the gate again. A probe that only times out (a slow server)
 * changes nothing. Queries already sent when the gate closed finish as the driver decides.
 */
import { errorCodes } from '@harakaflow/core';
import { isConnectionLoss } from './pg-errors.js';
import { DatabaseError } from './errors.js';

/** What a probe found: the server answered, refused or lost the connection, or did not answer in time. */
export type ProbeResult = 'up' | 'down' | 'slow';

export interface AvailabilityChange {
  up: boolean;
  /** When the database went down (on the way back up: how long it was away). */
  since: Date;
  /** Codes of the error that took it down (no message: it may quote parameters). */
  codes: string[];
}

const PROBE_EVERY_MS = 250;
const PROBE_TIMEOUT_MS = 1000;

export class Availability {
  #up = true;
  #since = new Date();
  #codes: string[] = [];
  #confirming = false;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #probe: (timeoutMs: number) => Promise<ProbeResult>;
  readonly #onChange: ((change: AvailabilityChange) => void) | undefined;

  constructor(probe: (timeoutMs: number) => Promise<ProbeResult>, onChange?: (change: AvailabilityChange) => void) {
    this.#probe = probe;
    this.#onChange = onChange;
  }

  get up(): boolean {
    return this.#up;
  }

  /** The error a refused query rejects with. */
  unavailable(): DatabaseError {
    return new DatabaseError(
      'HF_DB_UNAVAILABLE',
      '@harakaflow/db: the database cannot be reached; queries are refused until it answers again',
      {
        cause: Object.assign(new Error('database unavailable'), { code: this.#codes[0] ?? 'ECONNREFUSED' }),
      },
    );
  }

  /** A query failed: a connection-class error is confirmed by a probe before the gate closes. */
  failed(error: unknown): void {
    if (!this.#up || this.#confirming || this.#closed || !isConnectionLoss(error)) return;
    this.#confirming = true;
    void this.#probe(PROBE_TIMEOUT_MS).then((result) => {
      this.#confirming = false;
      if (result === 'down') this.#down(errorCodes(error).codes);
    });
  }

  /** A query succeeded: the database answers, whatever the probe last said. */
  succeeded(): void {
    if (!this.#up) this.#back();
  }

  /** The handle's `ping` (the health check): a probe now, whose answer moves the gate like its own. */
  async ping(timeoutMs: number): Promise<boolean> {
    const result = await this.#probe(timeoutMs);
    if (result === 'up') this.succeeded();
    else if (result === 'down' && this.#up && !this.#closed) this.#down(['ECONNREFUSED']);
    return result === 'up';
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #down(codes: string[]): void {
    if (!this.#up || this.#closed) return;
    this.#up = false;
    this.#since = new Date();
    this.#codes = codes;
    this.#onChange?.({ up: false, since: this.#since, codes });
    this.#schedule();
  }

  #back(): void {
    this.#up = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#onChange?.({ up: true, since: this.#since, codes: this.#codes });
  }

  #schedule(): void {
    if (this.#closed || this.#up || this.#timer) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        void this.#probe(PROBE_TIMEOUT_MS).then((result) => {
          if (result === 'up') this.succeeded();
          else this.#schedule();
        });
      },
      PROBE_EVERY_MS * (0.5 + Math.random()),
    );
    this.#timer.unref();
  }
}

/** A query refused at the gate: rejects when awaited, and like a postgres.js query has `values()`. */
function refused(
  error: () => Error,
): PromiseLike<never> & { values(): unknown; catch: Promise<never>['catch']; finally: Promise<never>['finally'] } {
  const settle = () => Promise.reject(error());
  const refusal = {
    then: (ok?: (v: never) => unknown, fail?: (e: unknown) => unknown) => settle().then(ok, fail),
    catch: (fail?: (e: unknown) => unknown) => settle().catch(fail),
    finally: (fn?: () => void) => settle().finally(fn),
    values: () => refusal,
  };
  return refusal as never;
}

type Fn = (...args: unknown[]) => unknown;

/** On the gated client: how many of its statements and transactions are sent and not yet settled (poolUse reads it). */
export const IN_FLIGHT = Symbol('inFlight');

/**
 * The client drizzle is given: the pool's own, with its statement (`unsafe`, which drizzle sends
 * every query through) and transaction (`begin`) calls behind the gate. Each call's outcome is
 * watched with Promise.prototype.then, which does not start a postgres.js query early (its lazy
 * `then` would); the same watch counts what is in flight for the pool-use metric.
 */
export function gatedClient<T extends object>(client: T, availability: Availability, onFirstSuccess?: () => void): T {
  const gated = Object.create(client) as Record<string | symbol, unknown>;
  let inFlight = 0;
  let first = onFirstSuccess;
  const ok = () => {
    inFlight--;
    availability.succeeded();
    if (first) {
      first();
      first = undefined;
    }
  };
  const failed = (error: unknown) => {
    inFlight--;
    availability.failed(error);
  };
  for (const name of ['unsafe', 'begin'] as const) {
    const original = (client as Record<string, Fn>)[name];
    if (typeof original !== 'function') continue;
    gated[name] = (...args: unknown[]) => {
      if (!availability.up)
        return name === 'unsafe'
          ? refused(() => availability.unavailable())
          : Promise.reject(availability.unavailable());
      const result = original(...args);
      if (result instanceof Promise) {
        inFlight++;
        void Promise.prototype.then.call(result, ok, failed);
      }
      return result;
    };
  }
  gated[IN_FLIGHT] = () => inFlight;
  return gated as T;
}
