/**
 * One decision of a limit list (limits.ts), synchronous: each key's count as this replica sees it,
 * all or nothing, and what the decision leaves in a scratch shared by the functions here (filled
 * and read with no await in between) for the reply's fields and the warnings.
 */
import { msToUtcMidnight, type LimitSpec } from './core.js';
import { limitKey, type Prepared } from './limits-fields.js';
import type { Outcome } from './store-config.js';
import { KNOWN, UNKNOWN, type Entry } from './store-entries.js';
import type { Store } from './store.js';

/** A threshold crossing to warn about: the limit, the count it was crossed from, and where it stands. */
export type Warned = { spec: LimitSpec; before: number; outcome: Outcome };

export const ADMITTED = -1;
export const WAIT = -2;
export const UNAVAILABLE = -3;

// Scratch of one decision: filled and read synchronously (no await in between), so shared.
export const ENTRIES: Entry[] = [];
export const VIEWS: number[] = [];
export const INSURED: boolean[] = [];

let unavailable = '';
/** The limit the last decision that answered UNAVAILABLE found unanswerable. */
export const unavailableLimit = (): string => unavailable;

/**
 * Fills the scratch with each limit's entry and count as seen here, and commits `cost` to every
 * one when all have room. Returns ADMITTED, the index of the limit that refuses, WAIT (a key not
 * known yet: read it first) or UNAVAILABLE (fail-closed, the store cannot answer).
 */
export function decide(
  store: Store,
  set: Prepared,
  key: string,
  cost: number,
  at: number,
  now: number,
  failClosed: boolean,
  insure: boolean,
): number {
  const { counters, specs } = set;
  const n = counters.length;
  const local = store.local;
  const down = store.down;
  let wait = false;
  let insured = false;
  for (let i = 0; i < n; i++) {
    const c = counters[i]!;
    const e = store.entry(c, set.calendar[i] ? limitKey(specs[i]!, key, at) : key, now);
    ENTRIES[i] = e;
    INSURED[i] = false;
    const state = e.state;
    if (local || (state === KNOWN && !down)) {
      VIEWS[i] = store.view(e, now);
      continue;
    }
    if (state === UNKNOWN && !down && !insure) {
      wait = true;
      continue;
    }
    // The store is down, or this key's last flush failed: the insurance limiter answers
    // (fail-open), and the key is read again by the next flush.
    if (failClosed) {
      unavailable = c.name;
      return UNAVAILABLE;
    }
    store.retry(e);
    INSURED[i] = insured = true;
    VIEWS[i] = store.insurance.count(c.prefix + e.key, now);
  }
  if (wait) return WAIT;
  let refused = ADMITTED;
  for (let i = 0; i < n; i++) {
    if (VIEWS[i]! + cost > specs[i]!.points) {
      refused = i;
      break;
    }
  }
  if (refused === ADMITTED) {
    for (let i = 0; i < n; i++) {
      if (INSURED[i]) store.insurance.add(counters[i]!.prefix + ENTRIES[i]!.key, cost, counters[i]!.durationMs, now);
      else store.add(ENTRIES[i]!, cost);
    }
  }
  if (insured) for (let i = 0; i < n; i++) if (INSURED[i]) store.insured(counters[i]!.name);
  return refused;
}

/** When limit i's window ends, ms from now (scratch of the last decision). */
export function resetOf(store: Store, set: Prepared, i: number, at: number, now: number): number {
  if (set.calendar[i]) return msToUtcMidnight(at);
  if (INSURED[i])
    return store.insurance.get(set.counters[i]!.prefix + ENTRIES[i]!.key, now)?.ttlMs ?? set.counters[i]!.durationMs;
  const e = ENTRIES[i]!;
  return e.resetAt === Number.POSITIVE_INFINITY ? -1 : Math.max(0, e.resetAt - now);
}

/**
 * The thresholds crossed by the last decision (scratch), from the count each key's warnings were
 * last looked at here: a count read from the store that jumped (other replicas' requests) warns
 * too, once the claim in `quota.warnings` says no replica has.
 */
export function crossed(
  set: Prepared,
  cost: number,
  at: number,
  now: number,
  store: Store,
  /** Does going from `before` to `after` of `points` cross a warning threshold? */
  crosses: (points: number, before: number, after: number) => boolean,
): Warned[] | null {
  const specs = set.specs;
  let warned: Warned[] | null = null;
  for (let i = 0; i < specs.length; i++) {
    const points = specs[i]!.points;
    const view = VIEWS[i]!;
    const e = INSURED[i] ? null : ENTRIES[i]!;
    const before = e ? Math.min(e.seen, view) : view;
    const after = view + cost;
    if (e && after > e.seen) e.seen = after;
    if (crosses(points, before, after)) {
      (warned ??= []).push({
        spec: specs[i]!,
        before,
        outcome: {
          allowed: cost > 0,
          consumed: after,
          remaining: Math.max(0, points - after),
          msBeforeNext: resetOf(store, set, i, at, now),
        },
      });
    }
  }
  return warned;
}

/** The limit nearest exhaustion once `cost` is added (scratch of the last decision): its index. */
export function tightest(set: Prepared, cost: number): number {
  const specs = set.specs;
  let index = 0;
  let fraction = Number.POSITIVE_INFINITY;
  for (let i = 0; i < specs.length; i++) {
    const points = specs[i]!.points;
    const left = Math.max(0, points - VIEWS[i]! - cost);
    if (left / points < fraction) {
      fraction = left / points;
      index = i;
    }
  }
  return index;
}
