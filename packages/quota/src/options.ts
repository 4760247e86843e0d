/**
 * The quota plugin's options, and their checks at registration: a wrong option throws
 * HF_QUOTA_INVALID_OPTION naming it, before any hook exists.
 */
import { checkDatabaseOption, checkSubjectOption, integerOption, type SubjectResolver } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyRequest } from 'fastify';
import { DEFAULT_PLANS, ipMatcher, POLICY_NAME, type LimitSpec, type Plan } from './core.js';
import { invalidOption } from './errors.js';
import type { StoreKind } from './store-config.js';

export interface WarningInfo {
  /** The quota: a limit name such as `free.minute`, or `messages`. */
  quota: string;
  /** The threshold crossed, as a fraction (0.8, 1). */
  threshold: number;
  used: number;
  limit: number;
  /** When the current period ends. */
  resetAt: Date;
}

export interface RouteQuota {
  /** Extra limits for this route, per subject (or IP when anonymous). */
  limits?: LimitSpec[];
  /** Messages this route sends: counted against the plan's messages per day. */
  messages?: number;
  /** Refuse (503) instead of falling back to the in-memory insurance limiter when the store fails. */
  failClosed?: boolean;
  /**
   * Limits counted under a key of the route's own, read from the validated request (an address in
   * its body: `(request) => request.body.email`), in preHandler: one exact, atomic store call per
   * limit, refusing with 429 like any limit, never toward a ban (the key is no client). The key is
   * stored as `nk:` and an HMAC of it (`clientKeys.secret`), never as given. undefined: not counted.
   */
  keyed?: { limits: LimitSpec[]; key: (request: FastifyRequest) => string | undefined };
}

export interface QuotaOptions {
  /** 'memory' (default), 'postgres' (needs db) or 'redis' (needs redis). */
  store?: StoreKind | undefined;
  db?: Database | undefined;
  /** An ioredis client: a Redis (one server, or a primary found through Sentinel) or a Cluster. */
  redis?: unknown;
  plans?: Record<string, Plan> | undefined;
  /** The plan of an authenticated request's subject. Default: request.account?.plan, else 'free'. */
  planOf?: ((request: FastifyRequest) => string | undefined) | undefined;
  /** Limits of anonymous requests, per IP (IPv6 per /64). Default 60 per minute. */
  anonymous?: { requestsPerMinute: number; requestsPerSecond?: number } | undefined;
  subject?: SubjectResolver | undefined;
  /** IPs and CIDRs, and account ids, never limited or banned. */
  allowList?: { ips?: string[]; accounts?: string[] } | undefined;
  /** Paths never limited. Default ['/health', '/health/live', '/health/ready']. */
  skip?: string[] | undefined;
  /** Fractions of a quota at which to warn. Default [0.8, 1]. */
  thresholds?: number[] | undefined;
  onWarning?: ((subject: string, info: WarningInfo) => void | Promise<void>) | undefined;
  /** Refusals within `windowSeconds` that ban a key, and the ban durations in seconds as they escalate. */
  bans?: { after?: number; windowSeconds?: number; durations?: number[] } | undefined;
  /**
   * How long a store call (a flush, a consume) may take before the insurance limiter answers (or,
   * fail-closed, 503), ms. Default 50 on Redis; 500 on Postgres, whose statements queue in the
   * app's own pool behind its other queries.
   */
  storeTimeoutMs?: number | undefined;
  /**
   * Request limits are counted here and written to a shared store behind the requests: every
   * `flushMs` (default 50) or `flushIncrements` (default 500) increments, whichever comes first,
   * in one round trip. Smaller: less over-admission across replicas (README), more store calls.
   */
  flushMs?: number | undefined;
  flushIncrements?: number | undefined;
  /** How long a client found not banned is not checked again, ms. Default 1000. */
  banCheckIntervalMs?: number | undefined;
  /** Usage counters are written this often, ms. Default 5000. */
  meterFlushMs?: number | undefined;
  /** Prefix of every key in the store (several apps sharing one Redis). Default 'hf:quota:'. */
  keyPrefix?: string | undefined;
  /**
   * Failed authentications allowed per client IP (IPv6 per /64) per minute, or false for no limit.
   * Default { perMinute: 10 }. See `authGate` and `authFailed`.
   */
  authFailures?: { perMinute: number } | false | undefined;
  /**
   * Keys of anonymous clients in the store. With a `secret`, a client's counters and bans are kept
   * under `ipk:` and an HMAC-SHA256 of its IP (IPv6: its /64), so the store holds no IP address: an
   * erased account leaves nothing in Redis or `quota.rate_limits` that names the IPs it used. Every
   * replica sharing the store needs the same secret. `legacy: true` is for a rolling deploy from a
   * version that kept raw `ip:` keys: bans are then read and written under both keys, so old and new
   * replicas honour each other's bans (counters split between the two until the old ones are gone).
   * Default: a random secret with the memory store; raw `ip:` keys with a shared store (set a secret).
   *
   * `previous`, for a rolling deploy that changes the secret: the secrets older replicas still use
   * (each at least 16 bytes). A client's bans are then read and written under its key under the
   * current secret and under each previous one, so old and new replicas honour each other's bans;
   * its counters use the current secret only (they split until the roll ends, as with `legacy`).
   * Unban and erasure remove every form. Deploy with `previous: [oldSecret]`, then drop it once
   * every replica runs the new secret.
   */
  clientKeys?:
    | {
        secret: string | Uint8Array;
        legacy?: boolean | undefined;
        previous?: ReadonlyArray<string | Uint8Array> | undefined;
      }
    | undefined;
  /**
   * Accounts are counted and banned under `acct:<id>`, a key space of their own (before issue 19 the
   * bare id, which an id such as `ip:10.0.0.1` could share with a client). `legacy: true`, for a
   * rolling deploy from such a version: account bans are also read and written under the bare id.
   */
  accountKeys?: { legacy?: boolean | undefined } | undefined;
  /**
   * The clock, ms since the epoch (tests move it across midnight for the Postgres and Redis
   * stores, whose TTLs fake timers do not move). Default Date.now.
   */
  now?: (() => number) | undefined;
}

/** The options after their checks, defaults filled in. */
export interface Resolved {
  kind: StoreKind;
  db: Database | undefined;
  redis: unknown;
  plans: Record<string, Plan>;
  now: () => number;
  anonymousLimits: LimitSpec[];
  subject: SubjectResolver;
  planOf: (request: FastifyRequest) => string | undefined;
  thresholds: number[];
  bans: { after: number; windowSeconds: number; durations: number[] };
  storeTimeoutMs: number;
  flushMs: number;
  flushIncrements: number;
  banCheckMs: number;
  meterFlushMs: number;
  skip: Set<string>;
  allowIp: (ip: string | null) => boolean;
  allowAccounts: Set<string>;
  keySecret: string | Uint8Array | undefined;
  /** Secrets older replicas still key clients with (bans only). */
  previousKeySecrets: ReadonlyArray<string | Uint8Array>;
  legacyClientKeys: boolean;
  legacyAccountKeys: boolean;
  authFailures: LimitSpec | null;
}

export const positive = (name: string, value: unknown): number => integerOption(invalidOption, name, value, Number.NaN);

/** A client-key secret: a string or bytes of at least 16. */
const longSecret = (secret: unknown) =>
  typeof secret === 'string' ? secret.length >= 16 : secret instanceof Uint8Array && secret.length >= 16;

const defaultPlanOf = (request: FastifyRequest) =>
  (request as FastifyRequest & { account?: { plan?: string } | null }).account?.plan;

export function resolveOptions(options: QuotaOptions, randomSecret: () => Uint8Array): Resolved {
  const kind = options.store ?? 'memory';
  if (!['memory', 'postgres', 'redis'].includes(kind))
    throw invalidOption('store', "must be 'memory', 'postgres' or 'redis'");
  const db =
    options.db === undefined && kind !== 'postgres' ? undefined : checkDatabaseOption(options.db, invalidOption);
  if (kind === 'redis' && (!options.redis || typeof (options.redis as { set?: unknown }).set !== 'function'))
    throw invalidOption('redis', 'must be an ioredis client when store is redis');
  const plans = options.plans ?? DEFAULT_PLANS;
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw invalidOption('now', 'must be a function returning ms since the epoch');
  for (const [name, plan] of Object.entries(plans)) {
    if (!POLICY_NAME.test(name))
      throw invalidOption(
        `plans.${name}`,
        'names a plan with lower-case letters, digits, _, - or . (it is a RateLimit policy name)',
      );
    positive(`plans.${name}.requestsPerMinute`, plan.requestsPerMinute);
    positive(`plans.${name}.messagesPerDay`, plan.messagesPerDay);
    if (plan.requestsPerSecond !== undefined) positive(`plans.${name}.requestsPerSecond`, plan.requestsPerSecond);
    if (plan.requestsPerDay !== undefined) positive(`plans.${name}.requestsPerDay`, plan.requestsPerDay);
  }
  const anonymous = options.anonymous ?? { requestsPerMinute: 60 };
  positive('anonymous.requestsPerMinute', anonymous.requestsPerMinute);
  if (anonymous.requestsPerSecond !== undefined) positive('anonymous.requestsPerSecond', anonymous.requestsPerSecond);
  const thresholds = options.thresholds ?? [0.8, 1];
  if (thresholds.some((t) => typeof t !== 'number' || !(t > 0 && t <= 1)))
    throw invalidOption('thresholds', 'must be fractions in (0, 1]');
  const durations = options.bans?.durations ?? [60, 900, 3600, 86_400];
  durations.forEach((d, i) => positive(`bans.durations[${i}]`, d));
  let allowIp: (ip: string | null) => boolean = () => false;
  if ((options.allowList?.ips ?? []).length) {
    try {
      allowIp = ipMatcher(options.allowList!.ips!);
    } catch {
      throw invalidOption('allowList.ips', 'must be IP addresses or CIDRs');
    }
  }
  const secret = options.clientKeys?.secret;
  if (options.clientKeys !== undefined && !longSecret(secret))
    throw invalidOption('clientKeys.secret', 'must be a string or bytes of at least 16');
  const previous = options.clientKeys?.previous ?? [];
  if (!Array.isArray(previous)) throw invalidOption('clientKeys.previous', 'must be an array of secrets');
  previous.forEach((p, i) => {
    if (!longSecret(p)) throw invalidOption(`clientKeys.previous[${i}]`, 'must be a string or bytes of at least 16');
  });
  const keySecret = secret ?? (kind === 'memory' ? randomSecret() : undefined);
  return {
    kind,
    db,
    redis: options.redis,
    plans,
    now,
    anonymousLimits: [
      ...(anonymous.requestsPerSecond
        ? [{ name: 'anonymous.second', points: anonymous.requestsPerSecond, duration: 1 }]
        : []),
      { name: 'anonymous.minute', points: anonymous.requestsPerMinute, duration: 60 },
    ],
    subject: checkSubjectOption(options.subject, invalidOption),
    planOf: options.planOf ?? defaultPlanOf,
    thresholds,
    bans: {
      after: integerOption(invalidOption, 'bans.after', options.bans?.after, 5),
      windowSeconds: integerOption(invalidOption, 'bans.windowSeconds', options.bans?.windowSeconds, 600),
      durations,
    },
    // Postgres is reached through the app's own pool, where a statement queues behind the app's
    // queries (50 concurrent sends of one account took ~100 ms there): a budget to match.
    storeTimeoutMs: integerOption(
      invalidOption,
      'storeTimeoutMs',
      options.storeTimeoutMs,
      kind === 'postgres' ? 500 : 50,
    ),
    flushMs: integerOption(invalidOption, 'flushMs', options.flushMs, 50),
    flushIncrements: integerOption(invalidOption, 'flushIncrements', options.flushIncrements, 500),
    banCheckMs: integerOption(invalidOption, 'banCheckIntervalMs', options.banCheckIntervalMs, 1000),
    meterFlushMs: integerOption(invalidOption, 'meterFlushMs', options.meterFlushMs, 5000),
    skip: new Set(options.skip ?? ['/health', '/health/live', '/health/ready']),
    allowIp,
    allowAccounts: new Set(options.allowList?.accounts ?? []),
    keySecret,
    previousKeySecrets: previous,
    legacyClientKeys: options.clientKeys?.legacy === true && keySecret !== undefined,
    legacyAccountKeys: options.accountKeys?.legacy === true,
    authFailures:
      options.authFailures === false
        ? null
        : {
            name: 'auth.failures',
            points: integerOption(invalidOption, 'authFailures.perMinute', options.authFailures?.perMinute, 10),
            duration: 60,
          },
  };
}

/** Checks a route's `config.quota` when the route is declared (the limits' names, the keyed key). */
export function checkRouteQuota(url: string, rq: RouteQuota): void {
  for (const [where, specs] of [
    ['limits', rq.limits],
    ['keyed.limits', rq.keyed?.limits],
  ] as const) {
    for (const spec of specs ?? []) {
      if (typeof spec?.name !== 'string' || !POLICY_NAME.test(spec.name))
        throw invalidOption(
          `config.quota.${where} of ${url}`,
          'names a limit with lower-case letters, digits, _, - or . (it is a RateLimit policy name)',
        );
    }
  }
  if (rq.keyed && typeof rq.keyed.key !== 'function')
    throw invalidOption(`config.quota.keyed.key of ${url}`, 'must be a function (request) => string | undefined');
}
