/**
 * The quota plugin. Order of work on a request (registered before authentication in the app):
 *
 * onRequest   the client's IP ban, from the in-memory block cache or one store read (then cached):
 *             a banned client costs no store call and no database work after the first refusal.
 * preParsing  (after authentication) the account's ban, then every request limit that applies:
 *             the account's plan (burst, minute, day) or the IP's anonymous limits, plus route
 *             overrides, consumed in order; a refusal gives back what the earlier limits took.
 * preHandler  (after validation) the messages-per-day quota on routes that send messages.
 * A refusal is 429 HF_QUOTA_EXCEEDED with Retry-After; repeated refusals ban the key with escalating
 * durations (403 HF_QUOTA_BANNED). Warnings fire once per (subject, quota, threshold, period).
 */
import { checkDatabaseOption, checkSubjectOption, errorCodes, hookList, registerPersonalDataHandler, registerRetentionClass, securityEvent, type SubjectResolver } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { and, eq, inArray, lt, notInArray, sql } from 'drizzle-orm';
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { banDuration, bansOn, clientKey, crossedThresholds, DEFAULT_PLANS, ipMatcher, isCalendarDay, msToUtcMidnight, planLimits, POLICY_NAME, policyField, rateLimitField, utcDayOf, type LimitSpec, type Plan } from './core.js';
import { invalidOption, QuotaBanned, QuotaExceeded, unknownPlan } from './errors.js';
import { usageDaily, warningsSent } from './schema.js';
import { GuardedLimiter, type Outcome, type StoreConfig, type StoreKind } from './store.js';
import { UsageMeter } from './usage.js';

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
}

export interface QuotaOptions {
  /** 'memory' (default), 'postgres' (needs db) or 'redis' (needs redis). */
  store?: StoreKind | undefined;
  db?: Database | undefined;
  /** An ioredis client. */
  redis?: unknown;
  plans?: Record<string, Plan> | undefined;
  /** The plan of an authenticated request's subject. Default: request.account?.plan, else 'free'. */
  planOf?: ((request: FastifyRequest) => string | undefined) | undefined;
  /** Limits of anonymous requests, per IP (IPv6 per /64). Default 60 per minute. */
  anonymous?: { requestsPerMinute: number; requestsPerSecond?: number } | undefined;
  subject?: SubjectResolver | undefined;
  /** IPs and CIDRs, and account ids, never limited or banned. */
  allowList?: { ips?: string[]; accounts?: string[] } | undefined;
  /** Paths never limited. Default ['/health']. */
  skip?: string[] | undefined;
  /** Fractions of a quota at which to warn. Default [0.8, 1]. */
  thresholds?: number[] | undefined;
  onWarning?: ((subject: string, info: WarningInfo) => void | Promise<void>) | undefined;
  /** Refusals within `windowSeconds` that ban a key, and the ban durations in seconds as they escalate. */
  bans?: { after?: number; windowSeconds?: number; durations?: number[] } | undefined;
  /** How long a store call may take before the insurance limiter answers, ms. Default 50. */
  storeTimeoutMs?: number | undefined;
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
   */
  clientKeys?: { secret: string | Uint8Array; legacy?: boolean | undefined } | undefined;
  /**
   * The clock, ms since the epoch (tests move it across midnight for the Postgres and Redis
   * stores, whose TTLs fake timers do not move). Default Date.now.
   */
  now?: (() => number) | undefined;
}

export interface QuotaDecorator {
  /**
   * Bans a key (`ip:...`, `ip6:.../64`, as `clientKey` of core gives it, or an account id) for
   * `seconds`; audited. A client key is stored under its keyed form when `clientKeys` has a secret.
   */
  ban(key: string, seconds: number, reason: string): Promise<void>;
  /** Lifts a ban; audited. Other replicas that cached the ban keep refusing until their cached copy ends. */
  unban(key: string): Promise<void>;
  /** Usage totals per metric of an account between two UTC days. */
  usage(accountId: string, range: { from: string; to: string }): Promise<Record<string, number>>;
  /** Counts usage of a metric outside the request hooks. */
  meter(accountId: string, metric: string, n?: number): void;
  /** The limits and current state of an account (for GET /v1/usage). */
  status(accountId: string, plan: string): Promise<{ plan: string; limits: { name: string; limit: number; used: number; resetAt: Date | null }[] }>;
  /**
   * Before a presented credential is looked up: answers 429 (and returns true) when the client IP
   * has used up its failed authentications, counting the refusal toward a ban like any other limit.
   * Call it from the authentication hook, so key guessing costs no lookup past the limit.
   */
  authGate(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
  /** Counts one failed authentication against the client IP. */
  authFailed(request: FastifyRequest): Promise<void>;
  /**
   * True when authGate would let this request through without a store call (no failure known for
   * its client, whose clean state was read within banCheckIntervalMs): a caller may then skip the
   * gate's promise on its hot path. False says nothing; call authGate.
   */
  authClear(request: FastifyRequest): boolean;
  /** The key quota stores a request's client under (`ipk:...` with a secret, else `ip:...`/`ip6:...`). */
  clientKey(request: FastifyRequest): string;
  /** Store calls made so far (all limiters): tests and the benchmark count them. */
  storeCalls(): number;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Route quota: false for none, or extra limits, messages, fail-closed (@harakaflow/quota). */
    quota?: false | RouteQuota;
  }
  interface FastifyInstance {
    /** Quotas, bans, usage (@harakaflow/quota). */
    quota: QuotaDecorator;
  }
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidOption(name, 'must be a positive integer');
  return value;
}

const KEY = Symbol('quotaKey');
const FIELDS = Symbol('quotaFields');
/** A request's client: its key as stored, its raw key while legacy keys are on, allow-listed or not. */
type Tagged = FastifyRequest & { [KEY]?: { ip: string; raw: string | undefined; skip: boolean } };

const quota: FastifyPluginAsync<QuotaOptions> = async (fastify, options) => {
  const kind = options.store ?? 'memory';
  if (!['memory', 'postgres', 'redis'].includes(kind)) throw invalidOption('store', "must be 'memory', 'postgres' or 'redis'");
  const db = options.db === undefined && kind !== 'postgres' ? undefined : checkDatabaseOption(options.db, invalidOption);
  if (kind === 'redis' && (!options.redis || typeof (options.redis as { set?: unknown }).set !== 'function')) throw invalidOption('redis', 'must be an ioredis client when store is redis');
  const plans = options.plans ?? DEFAULT_PLANS;
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw invalidOption('now', 'must be a function returning ms since the epoch');
  for (const [name, plan] of Object.entries(plans)) {
    if (!POLICY_NAME.test(name)) throw invalidOption(`plans.${name}`, 'names a plan with lower-case letters, digits, _, - or . (it is a RateLimit policy name)');
    positive(`plans.${name}.requestsPerMinute`, plan.requestsPerMinute);
    positive(`plans.${name}.messagesPerDay`, plan.messagesPerDay);
    if (plan.requestsPerSecond !== undefined) positive(`plans.${name}.requestsPerSecond`, plan.requestsPerSecond);
    if (plan.requestsPerDay !== undefined) positive(`plans.${name}.requestsPerDay`, plan.requestsPerDay);
  }
  const anonymous = options.anonymous ?? { requestsPerMinute: 60 };
  positive('anonymous.requestsPerMinute', anonymous.requestsPerMinute);
  if (anonymous.requestsPerSecond !== undefined) positive('anonymous.requestsPerSecond', anonymous.requestsPerSecond);
  const subject = checkSubjectOption(options.subject, invalidOption);
  const planOf = options.planOf ?? ((request: FastifyRequest) => (request as FastifyRequest & { account?: { plan?: string } | null }).account?.plan);
  const thresholds = options.thresholds ?? [0.8, 1];
  if (thresholds.some((t) => typeof t !== 'number' || !(t > 0 && t <= 1))) throw invalidOption('thresholds', 'must be fractions in (0, 1]');
  const banAfter = positive('bans.after', options.bans?.after ?? 5);
  const banWindow = positive('bans.windowSeconds', options.bans?.windowSeconds ?? 600);
  const banDurations = options.bans?.durations ?? [60, 900, 3600, 86_400];
  banDurations.forEach((d, i) => positive(`bans.durations[${i}]`, d));
  const storeTimeoutMs = positive('storeTimeoutMs', options.storeTimeoutMs ?? 50);
  const banCheckMs = positive('banCheckIntervalMs', options.banCheckIntervalMs ?? 1000);
  const skip = new Set(options.skip ?? ['/health', '/health/live', '/health/ready']);
  let allowIp: (ip: string | null) => boolean;
  try {
    allowIp = ipMatcher(options.allowList?.ips ?? []);
  } catch {
    throw invalidOption('allowList.ips', 'must be IP addresses or CIDRs');
  }
  if (!(options.allowList?.ips ?? []).length) allowIp = () => false;
  const allowAccounts = new Set(options.allowList?.accounts ?? []);
  // Clients repeat: normalizing an address (and grouping IPv6 by /64) costs more than a lookup.
  const secretOption = options.clientKeys?.secret;
  if (options.clientKeys !== undefined && (typeof secretOption === 'string' ? secretOption.length < 16 : !(secretOption instanceof Uint8Array) || secretOption.length < 16)) {
    throw invalidOption('clientKeys.secret', 'must be a string or bytes of at least 16');
  }
  const keySecret = secretOption ?? (kind === 'memory' ? randomBytes(32) : undefined);
  const legacyKeys = options.clientKeys?.legacy === true && keySecret !== undefined;
  /** A client key (`ip:...`/`ip6:...`) as stored: keyed when there is a secret. */
  const storedKey = (raw: string) => (keySecret === undefined ? raw : `ipk:${createHmac('sha256', keySecret).update(raw).digest('base64url').slice(0, 22)}`);
  const isClientKey = (key: string) => key.startsWith('ip:') || key.startsWith('ip6:');
  /** Every key a ban of `key` is read and written under: both forms while `legacy` is on. */
  const banKeys = (key: string) => (!isClientKey(key) ? [key] : legacyKeys ? [storedKey(key), key] : [storedKey(key)]);
  const keys = new Map<string, string>();
  const keyOf = (ip: string) => {
    let key = keys.get(ip);
    if (key === undefined) {
      if (keys.size > 10_000) keys.clear();
      keys.set(ip, (key = storedKey(clientKey(ip))));
    }
    return key;
  };

  let lastFallbackLog = 0;
  const config: StoreConfig = {
    kind,
    db,
    redis: options.redis,
    timeoutMs: storeTimeoutMs,
    keyPrefix: options.keyPrefix,
    onFallback: (limit, error) => {
      const now = Date.now();
      if (now - lastFallbackLog < 10_000) return;
      lastFallbackLog = now;
      fastify.log.warn({ limit, err: errorCodes(error) }, 'quota: store failed; the in-memory insurance limiter answers');
    },
  };
  const limiters = new Map<string, GuardedLimiter>();
  const limiter = (spec: LimitSpec) => {
    const id = `${spec.name}:${spec.points}:${spec.duration}`;
    let l = limiters.get(id);
    if (!l) limiters.set(id, (l = new GuardedLimiter(spec.name, spec.points, spec.duration, config)));
    return l;
  };
  const anonymousLimits: LimitSpec[] = [
    ...(anonymous.requestsPerSecond ? [{ name: 'anonymous.second', points: anonymous.requestsPerSecond, duration: 1 }] : []),
    { name: 'anonymous.minute', points: anonymous.requestsPerMinute, duration: 60 },
  ];
  const planRequestLimits = new Map(Object.entries(plans).map(([name, plan]) => [name, planLimits(name, plan)]));
  const messageLimit = (plan: string) => ({ name: `${plan}.messages`, points: plans[plan]!.messagesPerDay, duration: 86_400 });
  const authFailureSpec: LimitSpec | null =
    options.authFailures === false ? null : { name: 'auth.failures', points: positive('authFailures.perMinute', options.authFailures?.perMinute ?? 10), duration: 60 };
  const authFailures = authFailureSpec ? limiter(authFailureSpec) : null;
  const violations = limiter({ name: 'violations', points: 1_000_000, duration: banWindow });
  const banLevel = limiter({ name: 'ban-level', points: 1_000_000, duration: 7 * 86_400 });
  const bans = limiter({ name: 'bans', points: 1, duration: 1 });
  const meter = new UsageMeter(db, options.meterFlushMs ?? 5000, (error) => fastify.log.warn({ err: errorCodes(error) }, 'quota: usage counters not written; kept for the next flush'));

  // The block cache: keys known to be banned (until when), and keys recently found not banned.
  const banned = new Map<string, number>();
  const clear = new Map<string, number>();
  /** Clients with a failed authentication known here, and clients whose gate read found none (until when to trust that). */
  // Forgetting either only costs a store read, so a full one is simply emptied.
  const failing = new Set<string>();
  const cleanUntil = new Map<string, number>();
  /** No failure known for this client, and its clean state read within banCheckIntervalMs: the gate passes it from memory. */
  const knownClean = (ip: string, now: number) => !failing.has(ip) && (cleanUntil.get(ip) ?? 0) > now;
  const markFailing = (ip: string) => {
    if (failing.size > 50_000) failing.clear();
    failing.add(ip);
    cleanUntil.delete(ip);
  };
  async function banRemainingMs(key: string): Promise<number> {
    const now = Date.now();
    const until = banned.get(key);
    if (until !== undefined) {
      if (until > now) return until - now;
      banned.delete(key);
    }
    if ((clear.get(key) ?? 0) > now) return 0;
    const state = await bans.get(key);
    if (state && state.consumed > 1 && state.msBeforeNext > 0) {
      banned.set(key, now + state.msBeforeNext);
      return state.msBeforeNext;
    }
    if (clear.size > 50_000) clear.clear();
    clear.set(key, now + banCheckMs);
    return 0;
  }

  /** How a ban's key appears in the audit log: an account's id, never a client's IP. */
  const banTarget = (key: string) => (key.startsWith('ip') ? { resource: 'client-ip', subjectId: undefined } : { resource: `account:${key}`, subjectId: key });

  /** A client's remaining ban, under its stored key and (legacy) its raw one. */
  async function clientBanMs(ip: string, raw: string | undefined): Promise<number> {
    const ms = await banRemainingMs(ip);
    if (raw === undefined || ms > 0) return ms;
    const legacy = await banRemainingMs(raw);
    if (legacy > 0) banned.set(ip, Date.now() + legacy);
    return legacy;
  }

  async function applyBan(key: string, seconds: number, reason: string, request?: FastifyRequest, raw?: string): Promise<void> {
    for (const k of raw === undefined ? [key] : [key, raw]) {
      await bans.block(k, seconds);
      banned.set(k, Date.now() + seconds * 1000);
      clear.delete(k);
    }
    await securityEvent(fastify, request, { action: 'quota.ban.applied', ...banTarget(key), outcome: 'success', details: { seconds, reason }, durability: 'sync' });
  }

  /** A refusal: counts as a violation; enough of them ban the key, for longer each time. */
  async function violation(key: string, request: FastifyRequest, raw?: string): Promise<void> {
    const v = await violations.consume(key, 1);
    if (v.consumed < banAfter) return;
    await violations.delete(key);
    const level = await banLevel.consume(key, 1);
    await applyBan(key, banDuration(banDurations, level.consumed), `${banAfter} refusals within ${banWindow} s`, request, raw);
  }

  const warnedMemory = new Set<string>();
  async function firstWarning(subjectId: string, name: string, threshold: number, periodEnd: Date): Promise<boolean> {
    if (!db) {
      const key = `${subjectId}|${name}|${threshold}|${periodEnd.getTime()}`;
      if (warnedMemory.has(key)) return false;
      warnedMemory.add(key);
      return true;
    }
    const inserted = await db
      .insert(warningsSent)
      .values({ subject: subjectId, quota: name, threshold: Math.round(threshold * 100), periodEnd })
      .onConflictDoNothing()
      .returning({ subject: warningsSent.subject });
    return inserted.length > 0;
  }

  async function warn(request: FastifyRequest | undefined, subjectId: string, spec: LimitSpec, before: number, outcome: Outcome): Promise<void> {
    const crossed = crossedThresholds(thresholds, spec.points, before, outcome.consumed);
    if (!crossed.length) return;
    // The period's end, rounded to the second: every replica sharing the store computes the same.
    const periodEnd = new Date(Math.round((now() + outcome.msBeforeNext) / 1000) * 1000);
    for (const threshold of crossed) {
      if (!(await firstWarning(subjectId, spec.name, threshold, periodEnd))) continue;
      const info: WarningInfo = { quota: spec.name, threshold, used: Math.min(outcome.consumed, spec.points), limit: spec.points, resetAt: periodEnd };
      await securityEvent(fastify, request, { action: 'quota.warning', resource: spec.name, outcome: 'success', subjectId, details: { threshold, used: info.used, limit: spec.points } });
      await options.onWarning?.(subjectId, info);
    }
  }

  /** Sends a refusal with `retryAfter` in the body and `Retry-After` as a header; the hook then returns it. */
  function refusal(reply: FastifyReply, error: { statusCode: number; code: string; message: string }, ms: number): FastifyReply {
    const retryAfter = Math.max(1, Math.ceil(ms / 1000));
    return reply
      .code(error.statusCode)
      .header('Retry-After', String(retryAfter))
      .type('application/json; charset=utf-8')
      .send({ statusCode: error.statusCode, code: error.code, error: error.statusCode === 429 ? 'Too Many Requests' : 'Forbidden', message: error.message, retryAfter });
  }

  /** A list of limits made ready once: its limiters and its RateLimit-Policy field. */
  interface Prepared {
    specs: LimitSpec[];
    limiters: GuardedLimiter[];
    policy: string;
  }
  const prepared = new Map<string, Prepared>();
  const routeIds = new WeakMap<object, number>();
  let nextRouteId = 0;
  function prepare(kind: string, base: LimitSpec[], route: RouteQuota | undefined): Prepared {
    let routeId = 0;
    if (route?.limits?.length) {
      routeId = routeIds.get(route) ?? 0;
      if (!routeId) routeIds.set(route, (routeId = ++nextRouteId));
    }
    const id = `${kind}|${routeId}`;
    let p = prepared.get(id);
    if (!p) {
      const specs = [...base, ...(routeId ? route!.limits! : [])];
      prepared.set(id, (p = { specs, limiters: specs.map(limiter), policy: policyField(specs) }));
    }
    return p;
  }

  /** The key a limit counts under: a day-scale limit's carries the UTC day, so it resets at midnight. */
  const limitKey = (spec: LimitSpec, key: string, at: number) => (isCalendarDay(spec) ? `${key}|${utcDayOf(at)}` : key);
  /** When a limit's window ends, ms from `at`: midnight UTC for day-scale limits. */
  const resetMs = (spec: LimitSpec, outcome: Outcome, at: number) => (isCalendarDay(spec) ? msToUtcMidnight(at) : outcome.msBeforeNext);

  /**
   * What the RateLimit fields of a request say so far: every policy that applied to it (the request
   * limits in preParsing, messages in preHandler), and the one nearest exhaustion (issue 13 item 13).
   */
  interface Fields {
    specs: LimitSpec[];
    tightest: { spec: LimitSpec; remaining: number; resetMs: number } | null;
  }
  function writeFields(request: FastifyRequest, reply: FastifyReply, set: Prepared, tightest: Fields['tightest']): void {
    const holder = request as FastifyRequest & { [FIELDS]?: Fields };
    const fields = (holder[FIELDS] ??= { specs: [], tightest: null });
    for (const spec of set.specs) if (!fields.specs.includes(spec)) fields.specs.push(spec);
    if (tightest && (!fields.tightest || tightest.remaining / tightest.spec.points < fields.tightest.remaining / fields.tightest.spec.points)) fields.tightest = tightest;
    reply.header('RateLimit-Policy', fields.specs.length === set.specs.length ? set.policy : policyField(fields.specs));
    if (fields.tightest) reply.header('RateLimit', rateLimitField(fields.tightest.spec.name, fields.tightest.remaining, fields.tightest.resetMs / 1000));
  }

  /**
   * Consumes `cost` of every limit in order; on a refusal gives back what earlier ones took, sends
   * the 429 and returns true. (Not the reply itself: a reply is thenable, and an async function
   * returning it would wait for the response instead of returning.)
   */
  async function consumeAll(request: FastifyRequest, reply: FastifyReply, key: string, set: Prepared, cost: number, failClosed: boolean, warnSubject?: string, raw?: string): Promise<boolean> {
    const { specs, limiters: ls } = set;
    const at = now();
    let tightest: Fields['tightest'] = null;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const outcome = await ls[i]!.consume(limitKey(spec, key, at), cost, failClosed);
      const reset = resetMs(spec, outcome, at);
      if (!outcome.allowed) {
        // What the earlier limits took goes back: a refused request does not count against them.
        for (let j = 0; j < i; j++) await ls[j]!.reward(limitKey(specs[j]!, key, at), cost);
        writeFields(request, reply, set, { spec, remaining: 0, resetMs: reset });
        // Bans are for abusing request rates; using up a plan's day quota is not abuse.
        if (bansOn(spec)) await violation(key, request, raw);
        refusal(reply, new QuotaExceeded(`the ${spec.name} limit of ${spec.points} per ${spec.duration} s is used up`), reset);
        return true;
      }
      if (warnSubject) await warn(request, warnSubject, spec, outcome.consumed - cost, { ...outcome, msBeforeNext: reset });
      if (!tightest || outcome.remaining / spec.points < tightest.remaining / tightest.spec.points) tightest = { spec, remaining: outcome.remaining, resetMs: reset };
    }
    if (tightest) writeFields(request, reply, set, tightest);
    return false;
  }

  // The IP ban comes first, on every request but the skipped paths (/health), before authentication:
  // a global onRequest hook, registered before the app's. Cheap on the hot path: the client key and
  // the ban state come from memory; only a client not seen for banCheckIntervalMs costs a store read.
  fastify.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    const q = url.indexOf('?');
    if (skip.has(q === -1 ? url : url.slice(0, q))) return done();
    const ip = keyOf(request.ip);
    const raw = legacyKeys ? clientKey(request.ip) : undefined;
    (request as Tagged)[KEY] = { ip, raw, skip: false };
    if (allowIp(request.ip)) {
      (request as Tagged)[KEY]!.skip = true;
      return done();
    }
    const now = Date.now();
    const until = banned.get(ip);
    if (until !== undefined && until > now) return void refusal(reply, new QuotaBanned(), until - now);
    if (until === undefined && (clear.get(ip) ?? 0) > now && (raw === undefined || (clear.get(raw) ?? 0) > now)) return done();
    clientBanMs(ip, raw).then(
      (ms) => (ms > 0 ? void refusal(reply, new QuotaBanned(), ms) : done()),
      (error: unknown) => done(error as Error),
    );
  });

  // Limits are route hooks, added when each route is declared: a route with `quota: false` or a
  // skipped path costs nothing, and no route reads its options per request. Route hooks run after
  // the app's global onRequest hooks, so the subject is known.
  fastify.addHook('onRoute', (route) => {
    const config = (route.config as { quota?: false | RouteQuota } | undefined)?.quota;
    if (config === false || skip.has(route.url)) return;
    const rq = config || undefined;
    for (const spec of rq?.limits ?? []) {
      if (typeof spec?.name !== 'string' || !POLICY_NAME.test(spec.name)) throw invalidOption(`config.quota.limits of ${route.url}`, 'names a limit with lower-case letters, digits, _, - or . (it is a RateLimit policy name)');
    }
    const failClosed = rq?.failClosed ?? false;
    const anonymousSet = prepare('anonymous', anonymousLimits, rq);
    const limitsHook = async (request: FastifyRequest, reply: FastifyReply) => {
      const tag = (request as Tagged)[KEY];
      if (!tag || tag.skip) return;
      const id = subject(request);
      if (id === undefined) {
        if (await consumeAll(request, reply, tag.ip, anonymousSet, 1, failClosed, undefined, tag.raw)) return reply;
        return;
      }
      if (allowAccounts.has(id)) return;
      const ms = await banRemainingMs(id);
      if (ms > 0) return refusal(reply, new QuotaBanned(), ms);
      const plan = planOf(request) ?? 'free';
      const specs = planRequestLimits.get(plan);
      if (!specs) throw unknownPlan('the request', plan);
      if (await consumeAll(request, reply, id, prepare(plan, specs, rq), 1, failClosed, id)) return reply;
      meter.add(id, 'requests');
    };
    route.preParsing = [...hookList(route.preParsing), limitsHook];
    if (rq?.messages) {
      const cost = rq.messages;
      const messagesHook = async (request: FastifyRequest, reply: FastifyReply) => {
        const tag = (request as Tagged)[KEY];
        const id = subject(request);
        if (!tag || tag.skip || id === undefined || allowAccounts.has(id)) return;
        const plan = planOf(request) ?? 'free';
        if (!plans[plan]) throw unknownPlan('the request', plan);
        if (await consumeAll(request, reply, id, prepare(`${plan}.messages`, [messageLimit(plan)], undefined), cost, failClosed, id)) return reply;
        meter.add(id, 'messages', cost);
      };
      route.preHandler = [messagesHook, ...hookList(route.preHandler)];
    }
  });

  const decorator: QuotaDecorator = {
    async ban(key, seconds, reason) {
      positive('seconds', seconds);
      const [stored, raw] = banKeys(key);
      await applyBan(stored!, seconds, reason, undefined, raw);
    },
    async unban(key) {
      for (const k of isClientKey(key) ? [storedKey(key), key] : [key]) {
        await bans.delete(k);
        await violations.delete(k);
        banned.delete(k);
        clear.delete(k);
      }
      await securityEvent(fastify, undefined, { action: 'quota.ban.lifted', ...banTarget(key), outcome: 'success', durability: 'sync' });
    },
    usage: (accountId, range) => meter.usage(accountId, range),
    meter: (accountId, metric, n = 1) => meter.add(accountId, metric, n),
    async status(accountId, plan) {
      if (!plans[plan]) throw unknownPlan('status()', plan);
      const specs = [...planRequestLimits.get(plan)!, messageLimit(plan)];
      const limits = [];
      const at = now();
      for (const spec of specs) {
        const state = await limiter(spec).get(limitKey(spec, accountId, at));
        limits.push({ name: spec.name, limit: spec.points, used: state ? Math.min(state.consumed, spec.points) : 0, resetAt: state ? new Date(at + resetMs(spec, state, at)) : null });
      }
      return { plan, limits };
    },
    async authGate(request, reply) {
      const tag = (request as Tagged)[KEY];
      if (!authFailures || !authFailureSpec || !tag || tag.skip) return false;
      // A client with no failure known here, checked within banCheckIntervalMs, passes from memory:
      // an authenticated request costs no store call. Any failure (authFailed) makes this replica
      // read the shared count again, so a client guessing across replicas gets at most one guess
      // more per replica than the limit before each of them refuses it.
      const now = Date.now();
      if (knownClean(tag.ip, now)) return false;
      const state = await authFailures.get(tag.ip);
      if (!state || state.consumed === 0 || state.msBeforeNext <= 0) {
        failing.delete(tag.ip);
        if (cleanUntil.size > 50_000) cleanUntil.clear();
        cleanUntil.set(tag.ip, now + banCheckMs);
        return false;
      }
      markFailing(tag.ip);
      if (state.consumed < authFailureSpec.points) return false;
      reply.header('RateLimit-Policy', policyField([authFailureSpec]));
      reply.header('RateLimit', rateLimitField(authFailureSpec.name, 0, state.msBeforeNext / 1000));
      await violation(tag.ip, request, tag.raw);
      refusal(reply, new QuotaExceeded(`too many failed authentications: the limit of ${authFailureSpec.points} per ${authFailureSpec.duration} s is used up`), state.msBeforeNext);
      return true;
    },
    authClear(request) {
      const tag = (request as Tagged)[KEY];
      if (!authFailures || !tag || tag.skip) return true;
      return knownClean(tag.ip, Date.now());
    },
    async authFailed(request) {
      const tag = (request as Tagged)[KEY];
      if (!authFailures || !tag || tag.skip) return;
      await authFailures.consume(tag.ip, 1);
      markFailing(tag.ip);
    },
    clientKey: (request) => keyOf(request.ip),
    storeCalls: () => [...limiters.values()].reduce((n, l) => n + l.calls, 0),
  };
  fastify.decorate('quota', decorator);

  // §4 (contract 5b): usage counters and the warnings' dedupe rows are kept 90 days.
  if (db) {
    const store = db;
    registerRetentionClass(fastify, {
      name: 'quota_usage',
      policyClause: '§2, §4: usage metering (requests and messages per day) and quota warnings sent, 90 days',
      periodDays: 90,
      purgeBatch: async (b) => {
        const day = b.cutoff.toISOString().slice(0, 10);
        const usageWhere = and(lt(usageDaily.day, day), b.heldSubjects.length ? notInArray(usageDaily.accountId, [...b.heldSubjects]) : undefined);
        const warnWhere = and(sql`${warningsSent.periodEnd} < ${b.cutoff.toISOString()}::timestamptz`, b.heldSubjects.length ? notInArray(warningsSent.subject, [...b.heldSubjects]) : undefined);
        if (b.dryRun) {
          const n = async (q: Promise<{ n: number }[]>) => Number((await q)[0]?.n ?? 0);
          return { rows: (await n(store.select({ n: sql<number>`count(*)::int` }).from(usageDaily).where(usageWhere))) + (await n(store.select({ n: sql<number>`count(*)::int` }).from(warningsSent).where(warnWhere))), done: true };
        }
        // The usage table's key is (account, day, metric): a batch deletes by that key.
        const victims = store.select({ a: usageDaily.accountId, d: usageDaily.day, m: usageDaily.metric }).from(usageDaily).where(usageWhere).limit(b.limit);
        const usage = (await store.delete(usageDaily).where(sql`(${usageDaily.accountId}, ${usageDaily.day}, ${usageDaily.metric}) in (${victims})`).returning({ a: usageDaily.accountId })).length;
        const left = b.limit - usage;
        let warnings = 0;
        if (left > 0) {
          const keys = store.select({ s: warningsSent.subject }).from(warningsSent).where(warnWhere).limit(left);
          warnings = (await store.delete(warningsSent).where(and(warnWhere, inArray(warningsSent.subject, keys))).returning({ s: warningsSent.subject })).length;
        }
        return { rows: usage + warnings, done: usage + warnings < b.limit };
      },
    });
  }

  registerPersonalDataHandler(fastify, {
    name: 'quota',
    identifiers: ['account'],
    async exportSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      const usage = await meter.rows(subjectId);
      const ban = await bans.get(subjectId).catch(() => null);
      return { usage, bannedUntil: ban && ban.consumed > 1 && ban.msBeforeNext > 0 ? new Date(Date.now() + ban.msBeforeNext).toISOString() : null };
    },
    async eraseSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      let erased = await meter.erase(subjectId);
      if (db) erased += (await db.delete(warningsSent).where(eq(warningsSent.subject, subjectId)).returning({ s: warningsSent.subject })).length;
      const at = now();
      const specs = [...[...planRequestLimits.values()].flat(), ...Object.keys(plans).map((p) => messageLimit(p))];
      for (const l of [bans, violations, banLevel]) await l.delete(subjectId).catch(() => undefined);
      for (const spec of specs) {
        // Day-scale limits count under today's key (and yesterday's, still alive until it expires).
        const keys = isCalendarDay(spec) ? [limitKey(spec, subjectId, at), limitKey(spec, subjectId, at - 86_400_000)] : [subjectId];
        for (const k of keys) await limiter(spec).delete(k).catch(() => undefined);
      }
      banned.delete(subjectId);
      return { erased };
    },
  });

  fastify.addHook('onClose', () => meter.close());
};

export default quota;
