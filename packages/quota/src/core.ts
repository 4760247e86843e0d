/**
 * The quota package's plain functions: client keys, plans, header fields, threshold crossings and
 * ban durations. No Fastify, no store.
 */
import { ipNetwork, normalizeIp } from '@harakaflow/core';
import ipaddr from 'ipaddr.js';

export interface Plan {
  requestsPerMinute: number;
  messagesPerDay: number;
  /** Optional burst and daily request limits. */
  requestsPerSecond?: number | undefined;
  requestsPerDay?: number | undefined;
}

export const DEFAULT_PLANS: Readonly<Record<string, Plan>> = Object.freeze({
  free: { requestsPerMinute: 60, messagesPerDay: 100 },
  pro: { requestsPerMinute: 600, messagesPerDay: 10_000 },
  business: { requestsPerMinute: 3000, messagesPerDay: 100_000 },
});

/** One limit: `points` per `duration` seconds. */
export interface LimitSpec {
  name: string;
  points: number;
  duration: number;
  /**
   * Do refusals count toward a ban? Bans are for abusing request rates, not for using up a plan:
   * default true for limits shorter than a day, false for day-scale ones (messages per day).
   */
  ban?: boolean | undefined;
}

export const DAY_SECONDS = 86_400;

/**
 * A day-scale limit is a calendar window in UTC (issue 13 item 12): it resets at midnight UTC,
 * as usage is counted, not 24 h after the first request. Shorter limits are fixed windows from a
 * key's first request (rate-limiter-flexible's).
 */
export const isCalendarDay = (spec: LimitSpec) => spec.duration === DAY_SECONDS;

/** Whether a limit's refusals count as violations toward a ban. */
export const bansOn = (spec: LimitSpec) => spec.ban ?? spec.duration < DAY_SECONDS;

/** The UTC day of an instant, as keys carry it. */
export function utcDayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds from `ms` to the next midnight UTC. */
export function msToUtcMidnight(ms: number): number {
  return DAY_SECONDS * 1000 - (ms % (DAY_SECONDS * 1000));
}

/** A policy name as the RateLimit fields carry it: lower-case letters, digits, `_`, `-`, `.`. */
export const POLICY_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/**
 * The key of an anonymous client: its IPv4 address (IPv4-mapped IPv6 included), or its IPv6 /64,
 * which one subscriber usually holds whole (rotating through it must not multiply the quota).
 */
export function clientKey(ip: unknown): string {
  const normalized = normalizeIp(ip);
  if (normalized === null) return 'ip:unknown';
  return normalized.includes(':') ? `ip6:${ipNetwork(normalized, 32, 64)}/64` : `ip:${normalized}`;
}

/** Limits of a plan for every request (burst, minute, day); messages are counted apart. */
export function planLimits(name: string, plan: Plan): LimitSpec[] {
  const out: LimitSpec[] = [];
  if (plan.requestsPerSecond) out.push({ name: `${name}.second`, points: plan.requestsPerSecond, duration: 1 });
  out.push({ name: `${name}.minute`, points: plan.requestsPerMinute, duration: 60 });
  if (plan.requestsPerDay) out.push({ name: `${name}.day`, points: plan.requestsPerDay, duration: 86_400 });
  return out;
}

/** `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers): every limit that applies. */
export function policyField(limits: readonly LimitSpec[]): string {
  return limits.map((l) => `"${l.name}";q=${l.points};w=${l.duration}`).join(', ');
}

/** `RateLimit`: the limit closest to running out, with what remains and seconds to reset. */
export function rateLimitField(name: string, remaining: number, resetSeconds: number): string {
  return `"${name}";r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(resetSeconds))}`;
}

/** Thresholds (fractions, e.g. 0.8 and 1) crossed by moving from `before` to `after` points of `points`. */
export function crossedThresholds(
  thresholds: readonly number[],
  points: number,
  before: number,
  after: number,
): number[] {
  return thresholds.filter((t) => {
    const mark = Math.ceil(t * points);
    return before < mark && after >= mark;
  });
}

/**
 * Whether moving from `before` to `after` points of `points` crosses one of the thresholds (no allocation: the hot path
 * asks).
 */
export function crossesThreshold(
  thresholds: readonly number[],
  points: number,
  before: number,
  after: number,
): boolean {
  for (let i = 0; i < thresholds.length; i++) {
    const mark = Math.ceil(thresholds[i]! * points);
    if (before < mark && after >= mark) return true;
  }
  return false;
}

/** The ban duration (s) for the n-th ban (1-based) within the escalation window. */
export function banDuration(durations: readonly number[], nth: number): number {
  return durations[Math.min(Math.max(nth, 1), durations.length) - 1]!;
}

/** An allow-list of IPs and CIDRs, parsed once. */
export function ipMatcher(entries: readonly string[]): (ip: string | null) => boolean {
  const ranges = entries.map((entry) => {
    const range = entry.includes('/')
      ? ipaddr.parseCIDR(entry)
      : ([ipaddr.parse(entry), entry.includes(':') ? 128 : 32] as [ipaddr.IPv4 | ipaddr.IPv6, number]);
    return range;
  });
  return (ip) => {
    if (!ip) return false;
    const normalized = normalizeIp(ip);
    if (!normalized) return false;
    const address = ipaddr.parse(normalized);
    return ranges.some(([net, bits]) => address.kind() === net.kind() && address.match(net as never, bits));
  };
}
