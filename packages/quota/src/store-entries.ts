/** The write-behind counters of the quota store: a limit's Counter, one Entry per key, and their states (store.ts). */

/** An entry's state: not read yet, read (its count is the store's as of the last flush), or its last flush failed. */
export const UNKNOWN = 0;
export const KNOWN = 1;
export const DOWN = 2;

/** One write-behind limit: its entries by key. */
export class Counter {
  readonly entries = new Map<string, Entry>();
  constructor(
    readonly name: string,
    readonly points: number,
    readonly durationMs: number,
    /** Store keys of this limit: `${prefix}${name}:${key}`, as rate-limiter-flexible named them. */
    readonly prefix: string,
  ) {}
}

/** One key of a write-behind limit, as this replica knows it. */
export class Entry {
  /** The global count as the store last answered it (memory store: the count). */
  count = 0;
  /** This replica's increments not yet sent. */
  pending = 0;
  /** Increments in the flush in flight. */
  sending = 0;
  /** When the window ends (Date.now() clock). */
  resetAt = 0;
  /** The count up to which warning thresholds were looked at here (a jump read from the store is looked at too). */
  seen = 0;
  state = UNKNOWN;
  /** In the list of the next flush. */
  queued = false;
  /** Decisions waiting for this entry's read. */
  waiters: (() => void)[] | null = null;
  constructor(
    readonly counter: Counter,
    readonly key: string,
  ) {}
}

/** Drops the entries of `counters` nobody waits on and nothing is pending for, when `idle` says so. */
export function dropIdle(counters: readonly Counter[], idle: (e: Entry) => boolean): void {
  for (const counter of counters) {
    for (const [key, e] of counter.entries) {
      if (e.waiters || e.queued || e.pending || e.sending) continue;
      if (idle(e)) counter.entries.delete(key);
    }
  }
}
