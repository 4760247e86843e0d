/**
 * Request limits: one write-behind counter per distinct limit (store.ts), lists of limits prepared
 * once per (plan or anonymous, route) and decided all or nothing, exact limits (messages per day)
 * consumed one atomic store call each, and the IETF RateLimit fields of the reply.
 *
 * A decision is synchronous whenever every key of the list is known here (the hot path: no promise,
 * no store call); a key not known yet waits for the flush that reads it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCalendarDay, policyField, type LimitSpec } from './core.js';
import { QuotaExceeded } from './errors.js';
import {
  ADMITTED,
  crossed,
  decide,
  ENTRIES,
  resetOf,
  tightest,
  UNAVAILABLE,
  unavailableLimit,
  VIEWS,
  WAIT,
  type Warned,
} from './limits-decide.js';
import {
  fieldStart,
  limitKey,
  refusal,
  resetMs,
  writeFields,
  type Prepared,
  type PreparedExact,
} from './limits-fields.js';
import type { RouteQuota } from './options.js';
import type { Outcome } from './store-config.js';
import { KNOWN, UNKNOWN, type Counter } from './store-entries.js';
import { GuardedLimiter } from './store-guarded.js';
import type { Store } from './store.js';

export interface ConsumeHooks {
  /**
   * A limit refused the request of the key (in every form it has): its violation, toward a ban, when the limit bans.
   */
  refused(spec: LimitSpec, forms: string[], request: FastifyRequest): Promise<void>;
  /** Does going from `before` to `after` of `points` cross a warning threshold? (synchronous: the hot path asks it) */
  crosses(points: number, before: number, after: number): boolean;
  /** A limit of a subject that is warned took some, from `before`: the warnings. */
  used(spec: LimitSpec, subject: string, before: number, outcome: Outcome, request: FastifyRequest): Promise<void>;
}

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
    const r = decide(this.#store, set, forms[0]!, cost, at, now, failClosed, false);
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
      const r = decide(this.#store, set, forms[0]!, cost, at, now, failClosed, round >= 2);
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
    if (r === UNAVAILABLE) throw this.#store.unavailable(unavailableLimit());
    const warned = warnSubject === undefined ? null : crossed(set, 0, at, now, this.#store, this.hooks!.crosses);
    return this.#refused(request, reply, forms, set, r, resetOf(this.#store, set, r, at, now), warnSubject, warned);
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
    const t = tightest(set, cost);
    const left = Math.max(0, set.specs[t]!.points - VIEWS[t]! - cost);
    writeFields(request, reply, this.#fields, set, t, left, resetOf(this.#store, set, t, at, now));
    if (warnSubject === undefined) return false;
    const warned = crossed(set, cost, at, now, this.#store, this.hooks!.crosses);
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
    writeFields(request, reply, this.#fields, set, i, 0, reset);
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
    writeFields(request, reply, this.#fields, set, 0, outcome.remaining, reset);
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
}
