import { checkDatabaseOption, checkSubjectOption, integerOption, type SubjectResolver } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyRequest } from 'fastify';
import type { LeapDayBirthday } from './age.js';
import { invalidOption } from './errors.js';

export interface AgeGateOptions {
  /** Database of the gate's own tables (schema `age_gate`). Required. */
  db: Database;
  /** HMAC secrets (≥ 32 characters) of the block cookie and the IP hash: the first signs, all verify. Required. */
  secrets: readonly string[];
  /** Minimum age. */
  minimumAge?: number;
  /** Minimum age per country (ISO 3166-1 alpha-2), for deployments serving other jurisdictions. */
  countries?: Record<string, number>;
  /** The request's country, to look up `countries`. */
  country?: (request: FastifyRequest) => string | undefined;
  /** IANA time zone whose calendar date is "today". */
  timeZone?: string;
  /** Birthday of 29 February births in common years. */
  leapDayBirthday?: LeapDayBirthday;
  /** Name of the block cookie set on a refusal. */
  cookieName?: string;
  /** How long a refusal blocks retries from that browser, in seconds. */
  blockSeconds?: number;
  /** Also block the client IP (a keyed hash) for this many seconds; false: off (it would block a whole NAT). */
  ipBlockSeconds?: number | false;
  /** Secure attribute of the block cookie. */
  secure?: boolean;
  /** Every route under these prefixes requires a verified subject, unless its config says `ageGate: false`. */
  protectPrefixes?: readonly string[];
  /** Delay between a minor's report and the erasure of their data, in ms. */
  eraseAfterMs?: number;
  /** How often pending erasures are looked for, in ms (0: only at startup and on report). */
  sweepIntervalMs?: number;
  /** How long a subject's status is cached, in ms: the longest a restriction takes to reach another replica. */
  statusCacheMs?: number;
  /** Who the subject is; default: the authenticated account. */
  subject?: SubjectResolver;
  /**
   * The app's shared erasure job (`@harakaflow/data-rights`), which then erases a reported minor
   * instead of the gate's own job: one job, progress per handler, one receipt. Without it the gate
   * runs its own (`age_gate.erasures`), as a server with no data-rights package needs.
   */
  erasure?: MinorErasure | undefined;
}

/** An erasure job the gate hands a reported minor to (`dataRights.scheduleErasure` and `erasureState`). */
export interface MinorErasure {
  /** Erases the subject by `dueAt`, idempotently; when it is due now, resolves once done. */
  schedule(subjectId: string, job: { dueAt: Date; reason: string }): Promise<void>;
  state(subjectId: string): Promise<{
    status: 'pending' | 'running' | 'done';
    completedAt: Date | null;
    counts: Record<string, number> | null;
  } | null>;
}

export const DEFAULTS = {
  minimumAge: 18,
  timeZone: 'UTC',
  leapDayBirthday: 'march-1',
  cookieName: 'hf_age_block',
  blockSeconds: 7 * 24 * 3600,
  ipBlockSeconds: false,
  secure: true,
  eraseAfterMs: 0,
  sweepIntervalMs: 60_000,
  statusCacheMs: 1000,
} as const;

export type Resolved = Required<Omit<AgeGateOptions, 'country' | 'countries' | 'protectPrefixes' | 'erasure'>> & {
  erasure: MinorErasure | undefined;
  country: ((request: FastifyRequest) => string | undefined) | undefined;
  countries: Map<string, number>;
  protectPrefixes: string[];
};

const age = (name: string, value: unknown) => integerOption(invalidOption, name, value, Number.NaN, 1, 100);

export function resolveOptions(o: AgeGateOptions): Resolved {
  const db = checkDatabaseOption(o.db, invalidOption);
  if (!Array.isArray(o.secrets) || !o.secrets.length || o.secrets.some((s) => typeof s !== 'string' || s.length < 32)) {
    throw invalidOption('secrets', 'must be a non-empty array of strings of at least 32 characters');
  }
  const countries = new Map<string, number>();
  for (const [code, min] of Object.entries(o.countries ?? {})) {
    if (!/^[A-Z]{2}$/.test(code))
      throw invalidOption(`countries.${code}`, 'must be an ISO 3166-1 alpha-2 code in capitals');
    countries.set(code, age(`countries.${code}`, min));
  }
  const timeZone = o.timeZone ?? DEFAULTS.timeZone;
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
  } catch {
    throw invalidOption('timeZone', `is not a known IANA time zone (${JSON.stringify(timeZone)})`);
  }
  const nonNegative = (name: string, value: unknown, fallback: number) => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalidOption(name, 'must be a number ≥ 0');
    return v;
  };
  const leap = o.leapDayBirthday ?? DEFAULTS.leapDayBirthday;
  if (leap !== 'march-1' && leap !== 'february-28')
    throw invalidOption('leapDayBirthday', 'must be march-1 or february-28');
  const prefixes = o.protectPrefixes ?? [];
  if (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string' || !p.startsWith('/'))) {
    throw invalidOption('protectPrefixes', 'must be an array of paths starting with /');
  }
  if (o.country !== undefined && typeof o.country !== 'function') throw invalidOption('country', 'must be a function');
  const ipBlock = o.ipBlockSeconds ?? DEFAULTS.ipBlockSeconds;
  return {
    db,
    secrets: [...o.secrets],
    minimumAge: age('minimumAge', o.minimumAge ?? DEFAULTS.minimumAge),
    countries,
    country: o.country,
    timeZone,
    leapDayBirthday: leap,
    cookieName: o.cookieName ?? DEFAULTS.cookieName,
    blockSeconds: nonNegative('blockSeconds', o.blockSeconds, DEFAULTS.blockSeconds),
    ipBlockSeconds: ipBlock === false ? false : nonNegative('ipBlockSeconds', ipBlock, 0),
    secure: o.secure ?? DEFAULTS.secure,
    protectPrefixes: [...prefixes],
    eraseAfterMs: nonNegative('eraseAfterMs', o.eraseAfterMs, DEFAULTS.eraseAfterMs),
    sweepIntervalMs: nonNegative('sweepIntervalMs', o.sweepIntervalMs, DEFAULTS.sweepIntervalMs),
    statusCacheMs: nonNegative('statusCacheMs', o.statusCacheMs, DEFAULTS.statusCacheMs),
    subject: checkSubjectOption(o.subject, invalidOption),
    erasure: checkErasure(o.erasure),
  };
}

function checkErasure(value: unknown): MinorErasure | undefined {
  if (value === undefined) return undefined;
  const e = value as Partial<MinorErasure> | null;
  if (!e || typeof e.schedule !== 'function' || typeof e.state !== 'function')
    throw invalidOption('erasure', 'must be { schedule, state }');
  return e as MinorErasure;
}
