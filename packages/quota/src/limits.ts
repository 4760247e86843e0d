/**
 * Request limits: one guarded limiter per distinct limit, lists of limits prepared once per
 * (plan or anonymous, route), consumed all or nothing, and the IETF RateLimit fields of the reply.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCalendarDay, msToUtcMidnight, policyField, rateLimitField, utcDayOf, type LimitSpec } from './core.js';
import { QuotaExceeded } from './errors.js';
import type { RouteQuota } from './options.js';
import { GuardedLimiter, type Outcome, type StoreConfig } from './store.js';

/** A list of limits made ready once: its limiters and its RateLimit-Policy field. */
export interface Prepared {
  specs: LimitSpec[];
  limiters: GuardedLimiter[];
  policy: string;
}

/** What the RateLimit fields of a request say so far: every policy that applied, and the one nearest exhaustion. */
interface Fields {
  specs: LimitSpec[];
  tightest: Tightest | null;
}
type Tightest = { spec: LimitSpec; remaining: number; resetMs: number };

/** The key a limit counts under: a day-scale limit's carries the UTC day, so it resets at midnight. */
export const limitKey = (spec: LimitSpec, key: string, at: number) => (isCalendarDay(spec) ? `${key}|${utcDayOf(at)}` : key);
/** When a limit's window ends, ms from `at`: midnight UTC for day-scale limits. */
export const resetMs = (spec: LimitSpec, outcome: Outcome, at: number) => (isCalendarDay(spec) ? msToUtcMidnight(at) : outcome.msBeforeNext);

/** Sends a refusal in the one error shape, with `retryAfter` in the body and `Retry-After` as a header. */
export function refusal(reply: FastifyReply, error: { statusCode: number; code: string; message: string }, ms: number): FastifyReply {
  const retryAfter = Math.max(1, Math.ceil(ms / 1000));
  return reply
    .code(error.statusCode)
    .header('Retry-After', String(retryAfter))
    .type('application/json; charset=utf-8')
    .send({ statusCode: error.statusCode, code: error.code, error: error.statusCode === 429 ? 'Too Many Requests' : 'Forbidden', message: error.message, retryAfter });
}

export interface ConsumeHooks {
  /** A limit refused the request of the key (in every form it has): its violation, toward a ban, when the limit bans. */
  refused(spec: LimitSpec, forms: string[], request: FastifyRequest): Promise<void>;
  /** A limit of a subject that is warned took some, from `before`: the warnings. */
  used(spec: LimitSpec, subject: string, before: number, outcome: Outcome, request: FastifyRequest): Promise<void>;
}

export class Limits {
  readonly #config: StoreConfig;
  readonly #now: () => number;
  readonly #limiters = new Map<string, GuardedLimiter>();
  readonly #prepared = new Map<string, Prepared>();
  readonly #routeIds = new WeakMap<object, number>();
  readonly #fields: symbol;
  #nextRouteId = 0;
  /** Set once, before the first request (the ban book and the warnings need the limiters first). */
  hooks: ConsumeHooks | undefined;

  /** `fields`: the request property (declared with decorateRequest) holding the request's RateLimit fields. */
  constructor(config: StoreConfig, now: () => number, fields: symbol) {
    this.#config = config;
    this.#now = now;
    this.#fields = fields;
  }

  limiter(spec: LimitSpec): GuardedLimiter {
    const id = `${spec.name}:${spec.points}:${spec.duration}`;
    let l = this.#limiters.get(id);
    if (!l) this.#limiters.set(id, (l = new GuardedLimiter(spec.name, spec.points, spec.duration, this.#config)));
    return l;
  }

  /** Store calls made so far, every limiter. */
  calls(): number {
    let n = 0;
    for (const l of this.#limiters.values()) n += l.calls;
    return n;
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
      this.#prepared.set(id, (p = { specs, limiters: specs.map((s) => this.limiter(s)), policy: policyField(specs) }));
    }
    return p;
  }

  /**
   * Consumes `cost` of every limit in order under `forms[0]`; on a refusal gives back what earlier
   * ones took, sends the 429 and returns true. (Not the reply itself: a reply is thenable, and an
   * async function returning it would wait for the response instead of returning.) `warnSubject`:
   * the account whose warnings the limits raise, if any.
   */
  async consumeAll(request: FastifyRequest, reply: FastifyReply, forms: string[], set: Prepared, cost: number, failClosed: boolean, warnSubject?: string): Promise<boolean> {
    const { specs, limiters: ls } = set;
    const key = forms[0]!;
    const hooks = this.hooks!;
    const at = this.#now();
    let tightest: Tightest | null = null;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const outcome = await ls[i]!.consume(limitKey(spec, key, at), cost, failClosed);
      const reset = resetMs(spec, outcome, at);
      if (!outcome.allowed) {
        // What the earlier limits took goes back: a refused request does not count against them.
        for (let j = 0; j < i; j++) await ls[j]!.reward(limitKey(specs[j]!, key, at), cost);
        this.#write(request, reply, set, { spec, remaining: 0, resetMs: reset });
        await hooks.refused(spec, forms, request);
        refusal(reply, new QuotaExceeded(`the ${spec.name} limit of ${spec.points} per ${spec.duration} s is used up`), reset);
        return true;
      }
      if (warnSubject !== undefined) await hooks.used(spec, warnSubject, outcome.consumed - cost, { ...outcome, msBeforeNext: reset }, request);
      if (!tightest || outcome.remaining / spec.points < tightest.remaining / tightest.spec.points) tightest = { spec, remaining: outcome.remaining, resetMs: reset };
    }
    if (tightest) this.#write(request, reply, set, tightest);
    return false;
  }

  /** The request's RateLimit-Policy (every policy that applied to it) and RateLimit (the tightest) fields. */
  #write(request: FastifyRequest, reply: FastifyReply, set: Prepared, tightest: Tightest): void {
    const holder = request as unknown as Record<symbol, Fields | null>;
    const fields = (holder[this.#fields] ??= { specs: [], tightest: null });
    for (const spec of set.specs) if (!fields.specs.includes(spec)) fields.specs.push(spec);
    if (!fields.tightest || tightest.remaining / tightest.spec.points < fields.tightest.remaining / fields.tightest.spec.points) fields.tightest = tightest;
    reply.header('RateLimit-Policy', fields.specs.length === set.specs.length ? set.policy : policyField(fields.specs));
    reply.header('RateLimit', rateLimitField(fields.tightest.spec.name, fields.tightest.remaining, fields.tightest.resetMs / 1000));
  }
}
