/**
 * Request limits: one write-behind counter per distinct limit (store.ts), lists of limits prepared
 * once per (plan or anonymous, route) and decided all or nothing, exact limits (messages per day)
 * consumed one atomic store call each, and the IETF RateLimit fields of the reply.
 *
 * A decision is synchronous whenever every key of the list is known here (the hot path: no promise,
 * no store call); a key not known yet waits for the flush that reads it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCalendarDay, msToUtcMidnight, policyField, utcDayOf, type LimitSpec } from './core.js';
import { QuotaExceeded } from './errors.js';
import type { RouteQuota } from './options.js';
import { GuardedLimiter, KNOWN, UNKNOWN, type Counter, type Entry, type Outcome, type Store } from './store.js';

/** A list of limits made ready once: their counters and their RateLimit-Policy field. */
export interface Prepared {
  specs: LimitSpec[];
  counters: Counter[];
  /** Per limit: a calendar-day limit, whose key carries the UTC day. */
  calendar: boolean[];
  anyCalendar: boolean;
  policy: string;
  /** Per limit: the start of its RateLimit field, `"<name>";r=`. */
  fields: string[];
}

/** An exact limit made ready once: its limiter and policy field. */
export interface PreparedExact {
  specs: [LimitSpec];
  limiter: GuardedLimiter;
  policy: string;
  fields: [string];
}

/** The start of a limit's RateLimit field (rateLimitField without the numbers). */
const fieldStart = (spec: LimitSpec) => `"${spec.name}";r=`;

/** What the RateLimit fields of a request say so far: every policy that applied, and the one nearest exhaustion. */
interface Fields {
  specs: LimitSpec[];
  /** `specs` is a prepared list's own array (copied before it is added to). */
  shared: boolean;
  spec: LimitSpec;
  /** The start of the tightest limit's RateLimit field. */
  field: string;
  remaining: number;
  resetMs: number;
}

let lastDay = '';
let lastDayEnds = 0;
/** The UTC day of an instant, computed once per day (keys of day-scale limits carry it). */
function dayOf(at: number): string {
  if (at >= lastDayEnds || at < lastDayEnds - 86_400_000) {
    lastDay = utcDayOf(at);
    lastDayEnds = at + msToUtcMidnight(at);
  }
  return lastDay;
}

/** The key a limit counts under: a day-scale limit's carries the UTC day, so it resets at midnight. */
export const limitKey = (spec: LimitSpec, key: string, at: number) =>
  isCalendarDay(spec) ? `${key}|${dayOf(at)}` : key;
/** When a limit's window ends, ms from `at`: midnight UTC for day-scale limits. */
export const resetMs = (spec: LimitSpec, outcome: { msBeforeNext: number }, at: number) =>
  isCalendarDay(spec) ? msToUtcMidnight(at) : outcome.msBeforeNext;

/** Sends a refusal in the one error shape, with `retryAfter` in the body and `Retry-After` as a header. */
export function refusal(
  reply: FastifyReply,
  error: { statusCode: number; code: string; message: string },
  ms: number,
): FastifyReply {
  const retryAfter = Math.max(1, Math.ceil(ms / 1000));
  return reply
    .code(error.statusCode)
    .header('Retry-After', String(retryAfter))
    .type('application/json; charset=utf-8')
    .send({
      statusCode: error.statusCode,
      code: error.code,
      error: error.statusCode === 429 ? 'Too Many Requests' : 'Forbidden',
      message: error.message,
      retryAfter,
    });
}

export interface ConsumeHooks {
  /** A limit refused the request of the key (in every form it has): its violation, toward a ban, when the limit bans. */
  refused(spec: LimitSpec, forms: string[], request: FastifyRequest): Promise<void>;
  /** Does going from `before` to `after` of `points` cross a warning threshold? (synchronous: the hot path asks it) */
  crosses(points: number, before: number, after: number): boolean;
  /** A limit of a subject that is warned took some, from `before`: the warnings. */
  used(spec: LimitSpec, subject: string, before: number, outcome: Outcome, request: FastifyRequest): Promise<void>;
}

/** A threshold crossing to warn about: the limit, the count it was crossed from, and where it stands. */
type Warned = { spec: LimitSpec; before: number; outcome: Outcome };

const ADMITTED = -1;
const WAIT = -2;
const UNAVAILABLE = -3;

// Scratch of one decision: filled and read synchronously (no await in between), so shared.
const ENTRIES: Entry[] = [];
const VIEWS: number[] = [];
const INSURED: boolean[] = [];

export class Limits {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #limiters = new Map<string, GuardedLimiter>();
  readonly #counters = new Map<string, Counter>();
  readonly #prepared = new Map<string, Prepared>();
  readonly #exact = new Map<string, PreparedExact>();
  readonly #routeIds = new WeakMap<object, number>();
  readonly #fields: symbol;
  #nextRouteId = 0;
  #unavailable = '';
  /** Set once, before the first request (the ban book and the warnings need the limiters first). */
  hooks: ConsumeHooks | undefined;

  /** `fields`: the request property (declared with decorateRequest) holding the request's RateLimit fields. */
  constructor(store: Store, now: () => number, fields: symbol) {
    this.#store = store;
    this.#now = now;
    this.#fields = fields;
  }

  get store(): Store {
    return this.#store;
  }

  /** The exact limiter of a limit (also the ban registers and failed authentications). */
  limiter(spec: LimitSpec): GuardedLimiter {
    const id = `${spec.name}:${spec.points}:${spec.duration}`;
    let l = this.#limiters.get(id);
    if (!l) this.#limiters.set(id, (l = new GuardedLimiter(spec.name, spec.points, spec.duration, this.#store)));
    return l;
  }

  /** The write-behind counter of a request limit. */
  counter(spec: LimitSpec): Counter {
    const id = `${spec.name}:${spec.points}:${spec.duration}`;
    let c = this.#counters.get(id);
    if (!c) this.#counters.set(id, (c = this.#store.counter(spec.name, spec.points, spec.duration)));
    return c;
  }

  /** Store calls made so far, every limit. */
  calls(): number {
    return this.#store.calls;
  }

  /** The limits `base` plus a route's own, made ready once per (kind, route). */
  prepare(kind: string, base: LimitSpec[], route: RouteQuota | undefined): Prepared {
    let routeId = 0;
    if (route?.limits?.length) {
      routeId = this.#routeIds.get(route) ?? 0;
      if (!routeId) this.#routeIds.set(route, (routeId = ++this.#nextRouteId));
    }
    const id = `${kind}|${routeId}`;
    let p = this.#prepared.get(id);
    if (!p) {
      const specs = [...base, ...(routeId ? route!.limits! : [])];
      const calendar = specs.map(isCalendarDay);
      this.#prepared.set(
        id,
        (p = {
          specs,
          counters: specs.map((s) => this.counter(s)),
          calendar,
          anyCalendar: calendar.includes(true),
          policy: policyField(specs),
          fields: specs.map(fieldStart),
        }),
      );
    }
    return p;
  }

  /** An exact limit made ready once. */
  prepareExact(spec: LimitSpec): PreparedExact {
    const id = `${spec.name}:${spec.points}:${spec.duration}`;
    let p = this.#exact.get(id);
    if (!p)
      this.#exact.set(
        id,
        (p = { specs: [spec], limiter: this.limiter(spec), policy: policyField([spec]), fields: [fieldStart(spec)] }),
      );
    return p;
  }

  /**
   * Decides `cost` of every limit of the list under `forms[0]`, all or nothing. Admitted: the
   * RateLimit fields written, false. Refused: the 429 sent, true. Synchronous when every key is
   * known here, else a promise. A fail-closed list that cannot reach the store throws
   * HF_QUOTA_UNAVAILABLE. `warnSubject`: the account whose warnings the limits raise, if any.
   */
  consumeAll(
    request: FastifyRequest,
    reply: FastifyReply,
    forms: string[],
    set: Prepared,
    cost: number,
    failClosed: boolean,
    warnSubject?: string,
  ): boolean | Promise<boolean> {
    const at = set.anyCalendar ? this.#now() : 0;
    const now = Date.now();
    const r = this.#decide(set, forms[0]!, cost, at, now, failClosed, false);
    if (r === WAIT) return this.#afterRead(request, reply, forms, set, cost, failClosed, warnSubject);
    return this.#settle(request, reply, forms, set, cost, at, now, r, warnSubject);
  }

  async #afterRead(
    request: FastifyRequest,
    reply: FastifyReply,
    forms: string[],
    set: Prepared,
    cost: number,
    failClosed: boolean,
    warnSubject: string | undefined,
  ): Promise<boolean> {
    for (let round = 0; ; round++) {
      await this.#store.wait(ENTRIES, set.counters.length);
      const at = set.anyCalendar ? this.#now() : 0;
      const now = Date.now();
      // Read, unless forgotten meanwhile (sync, erasure): after three reads, the insurance limiter.
      const r = this.#decide(set, forms[0]!, cost, at, now, failClosed, round >= 2);
      if (r !== WAIT) return this.#settle(request, reply, forms, set, cost, at, now, r, warnSubject);
    }
  }

  #settle(
    request: FastifyRequest,
    reply: FastifyReply,
    forms: string[],
    set: Prepared,
    cost: number,
    at: number,
    now: number,
    r: number,
    warnSubject: string | undefined,
  ): boolean | Promise<boolean> {
    if (r === ADMITTED) return this.#admitted(request, reply, set, cost, at, now, warnSubject);
    if (r === UNAVAILABLE) throw this.#store.unavailable(this.#unavailable);
    const warned = warnSubject === undefined ? null : this.#crossed(set, 0, at, now);
    return this.#refused(request, reply, forms, set, r, this.#resetOf(set, r, at, now), warnSubject, warned);
  }

  /**
   * The thresholds crossed by the last decision (scratch), from the count each key's warnings were
   * last looked at here: a count read from the store that jumped (other replicas' requests) warns
   * too, once the claim in `quota.warnings` says no replica has.
   */
  #crossed(set: Prepared, cost: number, at: number, now: number): Warned[] | null {
    const specs = set.specs;
    let warned: Warned[] | null = null;
    for (let i = 0; i < specs.length; i++) {
      const points = specs[i]!.points;
      const view = VIEWS[i]!;
      const e = INSURED[i] ? null : ENTRIES[i]!;
      const before = e ? Math.min(e.seen, view) : view;
      const after = view + cost;
      if (e && after > e.seen) e.seen = after;
      if (this.hooks!.crosses(points, before, after)) {
        (warned ??= []).push({
          spec: specs[i]!,
          before,
          outcome: {
            allowed: cost > 0,
            consumed: after,
            remaining: Math.max(0, points - after),
            msBeforeNext: this.#resetOf(set, i, at, now),
          },
        });
      }
    }
    return warned;
  }

  /**
   * Fills the scratch with each limit's entry and count as seen here, and commits `cost` to every
   * one when all have room. Returns ADMITTED, the index of the limit that refuses, WAIT (a key not
   * known yet: read it first) or UNAVAILABLE (fail-closed, the store cannot answer).
   */
  #decide(
    set: Prepared,
    key: string,
    cost: number,
    at: number,
    now: number,
    failClosed: boolean,
    insure: boolean,
  ): number {
    const store = this.#store;
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
        this.#unavailable = c.name;
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
  #resetOf(set: Prepared, i: number, at: number, now: number): number {
    if (set.calendar[i]) return msToUtcMidnight(at);
    if (INSURED[i])
      return (
        this.#store.insurance.get(set.counters[i]!.prefix + ENTRIES[i]!.key, now)?.ttlMs ?? set.counters[i]!.durationMs
      );
    const e = ENTRIES[i]!;
    return e.resetAt === Number.POSITIVE_INFINITY ? -1 : Math.max(0, e.resetAt - now);
  }

  #admitted(
    request: FastifyRequest,
    reply: FastifyReply,
    set: Prepared,
    cost: number,
    at: number,
    now: number,
    warnSubject: string | undefined,
  ): boolean | Promise<boolean> {
    const specs = set.specs;
    let tightest = 0;
    let tightestLeft = 0;
    let fraction = Number.POSITIVE_INFINITY;
    for (let i = 0; i < specs.length; i++) {
      const points = specs[i]!.points;
      const left = Math.max(0, points - VIEWS[i]! - cost);
      if (left / points < fraction) {
        fraction = left / points;
        tightest = i;
        tightestLeft = left;
      }
    }
    this.#write(request, reply, set, tightest, tightestLeft, this.#resetOf(set, tightest, at, now));
    if (warnSubject === undefined) return false;
    const warned = this.#crossed(set, cost, at, now);
    return warned ? this.#warn(request, warnSubject, warned) : false;
  }

  async #warn(request: FastifyRequest, subject: string, warned: Warned[]): Promise<boolean> {
    for (const w of warned) await this.hooks!.used(w.spec, subject, w.before, w.outcome, request);
    return false;
  }

  async #refused(
    request: FastifyRequest,
    reply: FastifyReply,
    forms: string[],
    set: Prepared | PreparedExact,
    i: number,
    reset: number,
    warnSubject?: string,
    warned?: Warned[] | null,
  ): Promise<boolean> {
    if (warned) await this.#warn(request, warnSubject!, warned);
    const spec = set.specs[i]!;
    this.#write(request, reply, set, i, 0, reset);
    await this.hooks!.refused(spec, forms, request);
    refusal(
      reply,
      new QuotaExceeded(`the ${spec.name} limit of ${spec.points} per ${spec.duration} s is used up`),
      reset,
    );
    return true;
  }

  /** Consumes `cost` of an exact limit (one atomic store call): as consumeAll, always a promise. */
  async consumeExact(
    request: FastifyRequest,
    reply: FastifyReply,
    forms: string[],
    set: PreparedExact,
    cost: number,
    failClosed: boolean,
    warnSubject?: string,
  ): Promise<boolean> {
    const spec = set.specs[0];
    const at = this.#now();
    const outcome = await set.limiter.consume(limitKey(spec, forms[0]!, at), cost, failClosed);
    const reset = resetMs(spec, outcome, at);
    if (!outcome.allowed) return this.#refused(request, reply, forms, set, 0, reset);
    if (warnSubject !== undefined)
      await this.hooks!.used(spec, warnSubject, outcome.consumed - cost, { ...outcome, msBeforeNext: reset }, request);
    this.#write(request, reply, set, 0, outcome.remaining, reset);
    return false;
  }

  /** A limit's use for `status()`: the count as this replica sees it (a key it does not know is read first). */
  async state(
    spec: LimitSpec,
    key: string,
    exact: boolean,
  ): Promise<{ consumed: number; msBeforeNext: number } | null> {
    if (exact) return this.limiter(spec).get(key);
    const store = this.#store;
    const c = this.counter(spec);
    let e = store.entry(c, key, Date.now());
    if (!store.local && e.state === UNKNOWN && !store.down) {
      await store.wait([e], 1);
      e = store.entry(c, key, Date.now());
    }
    const now = Date.now();
    if (store.local || (e.state === KNOWN && !store.down)) {
      const consumed = store.view(e, now);
      return consumed === 0 && e.pending === 0 ? null : { consumed, msBeforeNext: e.resetAt - now };
    }
    const insured = store.insurance.get(c.prefix + key, now);
    return insured && { consumed: insured.count, msBeforeNext: insured.ttlMs };
  }

  /** Erasure of a key's count of a limit, here and in the store. */
  async erase(spec: LimitSpec, key: string, exact: boolean): Promise<void> {
    if (exact) return this.limiter(spec).delete(key);
    const c = this.counter(spec);
    this.#store.forget(c, key);
    await this.#store.del(spec.name, [c.prefix + key]);
  }

  /**
   * The request's RateLimit-Policy (every policy that applied to it) and RateLimit (the tightest)
   * fields. Header names in lower case, as Fastify stores them (no conversion per request).
   */
  #write(
    request: FastifyRequest,
    reply: FastifyReply,
    set: Prepared | PreparedExact,
    i: number,
    remaining: number,
    resetMs: number,
  ): void {
    const holder = request as unknown as Record<symbol, Fields | null>;
    const fields = holder[this.#fields];
    const spec = set.specs[i]!;
    if (!fields) {
      holder[this.#fields] = { specs: set.specs, shared: true, spec, field: set.fields[i]!, remaining, resetMs };
      reply.header('ratelimit-policy', set.policy);
      reply.header(
        'ratelimit',
        `${set.fields[i]!}${remaining > 0 ? remaining : 0};t=${resetMs > 0 ? Math.ceil(resetMs / 1000) : 0}`,
      );
      return;
    }
    for (const s of set.specs) {
      if (fields.specs.includes(s)) continue;
      if (fields.shared) {
        fields.specs = [...fields.specs];
        fields.shared = false;
      }
      fields.specs.push(s);
    }
    if (remaining / spec.points < fields.remaining / fields.spec.points) {
      fields.spec = spec;
      fields.field = set.fields[i]!;
      fields.remaining = remaining;
      fields.resetMs = resetMs;
    }
    reply.header('ratelimit-policy', fields.specs.length === set.specs.length ? set.policy : policyField(fields.specs));
    reply.header(
      'ratelimit',
      `${fields.field}${fields.remaining > 0 ? fields.remaining : 0};t=${fields.resetMs > 0 ? Math.ceil(fields.resetMs / 1000) : 0}`,
    );
  }
}
