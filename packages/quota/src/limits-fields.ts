/**
 * What the quota tells a client: limit lists made ready once with their RateLimit-Policy field, the
 * keys of day-scale limits, the IETF RateLimit fields of a reply and the refusal it sends.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isCalendarDay, msToUtcMidnight, policyField, utcDayOf, type LimitSpec } from './core.js';
import type { Counter } from './store-entries.js';
import type { GuardedLimiter } from './store-guarded.js';

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
export const fieldStart = (spec: LimitSpec) => `"${spec.name}";r=`;

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

/**
 * The request's RateLimit-Policy (every policy that applied to it) and RateLimit (the tightest)
 * fields. Header names in lower case, as Fastify stores them (no conversion per request).
 */
export function writeFields(
  request: FastifyRequest,
  reply: FastifyReply,
  /** The request property (declared with decorateRequest) holding the request's fields so far. */
  symbol: symbol,
  set: Prepared | PreparedExact,
  i: number,
  remaining: number,
  resetMs: number,
): void {
  const holder = request as unknown as Record<symbol, Fields | null>;
  const fields = holder[symbol];
  const spec = set.specs[i]!;
  if (!fields) {
    holder[symbol] = { specs: set.specs, shared: true, spec, field: set.fields[i]!, remaining, resetMs };
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
