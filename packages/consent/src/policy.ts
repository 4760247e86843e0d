/**
 * Policy versions (§11): published, then effective at least 14 days later when material.
 */
import { VERSION_PATTERN } from './codec.js';
import { invalidOption, noticePeriod } from './errors.js';

export interface PolicyVersionInput {
  version: string;
  publishedAt: Date | string;
  effectiveAt: Date | string;
  material: boolean;
}

export interface PolicyVersion {
  version: string;
  publishedAt: number;
  effectiveAt: number;
  material: boolean;
}

export interface UpcomingPolicy {
  version: string;
  publishedAt: string;
  effectiveAt: string;
  material: boolean;
}

const DAY = 24 * 60 * 60 * 1000;
export const NOTICE_DAYS = 14;

/** Checks and sorts the configured versions (by effective date). Throws at registration. */
export function checkPolicies(input: unknown): PolicyVersion[] {
  if (!Array.isArray(input) || input.length === 0)
    throw invalidOption('policies', 'must be a non-empty array of policy versions');
  const seen = new Set<string>();
  const versions = input.map((entry: PolicyVersionInput, i) => {
    const at = `policies[${i}]`;
    if (!entry || typeof entry !== 'object') throw invalidOption(at, 'must be an object');
    if (typeof entry.version !== 'string' || !VERSION_PATTERN.test(entry.version)) {
      throw invalidOption(`${at}.version`, `must match ${VERSION_PATTERN}`);
    }
    if (seen.has(entry.version)) throw invalidOption(`${at}.version`, `"${entry.version}" appears twice`);
    seen.add(entry.version);
    const publishedAt = new Date(entry.publishedAt).getTime();
    const effectiveAt = new Date(entry.effectiveAt).getTime();
    if (!Number.isFinite(publishedAt)) throw invalidOption(`${at}.publishedAt`, 'must be a date');
    if (!Number.isFinite(effectiveAt)) throw invalidOption(`${at}.effectiveAt`, 'must be a date');
    if (typeof entry.material !== 'boolean') throw invalidOption(`${at}.material`, 'must be a boolean');
    if (effectiveAt < publishedAt) throw invalidOption(`${at}.effectiveAt`, 'is before publishedAt');
    // The first version is the baseline everyone accepts at signup; the notice period is about changes.
    if (i > 0 && entry.material && effectiveAt - publishedAt < NOTICE_DAYS * DAY) {
      throw noticePeriod(entry.version, (effectiveAt - publishedAt) / DAY);
    }
    return { version: entry.version, publishedAt, effectiveAt, material: entry.material };
  });
  return versions.sort((a, b) => a.effectiveAt - b.effectiveAt);
}

export interface PolicyStatus {
  /** The version in force now (the baseline if none is yet). */
  current: PolicyVersion;
  /** Position of each version in effective order. */
  order: Map<string, number>;
  /** The newest material change in force now, if any (never the baseline). */
  latestMaterial: PolicyVersion | undefined;
  /** Published but not yet in force: the client should show the notice. */
  upcoming: UpcomingPolicy | null;
}

export function policyStatus(policies: readonly PolicyVersion[], nowMs: number): PolicyStatus {
  let current = policies[0]!;
  let latestMaterial: PolicyVersion | undefined;
  let upcoming: UpcomingPolicy | null = null;
  const order = new Map<string, number>();
  policies.forEach((p, i) => {
    order.set(p.version, i);
    if (p.effectiveAt <= nowMs) {
      current = p;
      if (p.material && i > 0) latestMaterial = p;
    } else if (p.publishedAt <= nowMs && !upcoming) {
      upcoming = {
        version: p.version,
        publishedAt: new Date(p.publishedAt).toISOString(),
        effectiveAt: new Date(p.effectiveAt).toISOString(),
        material: p.material,
      };
    }
  });
  return { current, order, latestMaterial, upcoming };
}

/** A decision made under `version` predates a material change in force now. */
export function needsReacceptance(version: string, status: PolicyStatus): boolean {
  if (!status.latestMaterial) return false;
  const made = status.order.get(version);
  // A version no longer configured is treated as older than everything.
  return made === undefined || made < status.order.get(status.latestMaterial.version)!;
}

/**
 * Policy status changes only at a publication or effective date: compute it once per interval
 * between those boundaries instead of once per request.
 */
export function policyTracker(policies: readonly PolicyVersion[]): (nowMs: number) => PolicyStatus {
  const boundaries = [...new Set(policies.flatMap((p) => [p.publishedAt, p.effectiveAt]))].sort((a, b) => a - b);
  let cached: PolicyStatus | undefined;
  let from = Infinity;
  let until = -Infinity;
  return (nowMs) => {
    if (!cached || nowMs < from || nowMs >= until) {
      cached = policyStatus(policies, nowMs);
      from = -Infinity;
      until = Infinity;
      for (const b of boundaries) {
        if (b <= nowMs) from = b;
        else {
          until = b;
          break;
        }
      }
    }
    return cached;
  };
}
