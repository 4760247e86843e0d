/**
 * The quota plugin. Order of work on a request (registered before authentication in the app):
 *
 * onRequest   the client's IP ban, from the ban book's cache or one store read (then cached):
 *             a banned client costs no store call and no database work after the first refusal.
 * preParsing  (after authentication) the account's ban, then every request limit that applies:
 *             the account's plan (burst, minute, day) or the IP's anonymous limits, plus route
 *             overrides, consumed in order; a refusal gives back what the earlier limits took.
 * preHandler  (after validation) the messages-per-day quota on routes that send messages.
 * A refusal is 429 HF_QUOTA_EXCEEDED with Retry-After; repeated refusals ban the key with escalating
 * durations (403 HF_QUOTA_BANNED). Warnings fire once per (subject, quota, threshold, period).
 */
import { errorCodes, hookList } from '@harakaflow/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { AuthGate } from './auth-gate.js';
import { BanBook } from './bans.js';
import { quotaEvents } from './events.js';
import { planLimits, POLICY_NAME, type LimitSpec } from './core.js';
import { invalidOption, QuotaBanned, unknownPlan } from './errors.js';
import { quotaDecorator } from './decorator.js';
import { Keys } from './keys.js';
import { Limits, refusal } from './limits.js';
import { quotaMetrics } from './metrics.js';
import { resolveOptions, type QuotaOptions, type RouteQuota } from './options.js';
import { registerQuotaData } from './personal-data.js';
import { UsageMeter } from './usage.js';
import { Warnings } from './warnings.js';

/** A request's client: its key as stored, its legacy raw key, allow-listed or not (set in onRequest). */
const CLIENT = Symbol('quotaClient');
const FIELDS = Symbol('quotaFields');
/** Set on the config of every route quota saw declared: one declared before quota was registered has none. */
const SEEN = Symbol('quotaSeen');
export type Client = { keys: string[]; skip: boolean };
const clientOf = (request: FastifyRequest) => (request as unknown as Record<symbol, Client | null>)[CLIENT];

const quota: FastifyPluginAsync<QuotaOptions> = async (fastify, options) => {
  const o = resolveOptions(options, () => randomBytes(32));
  const m = quotaMetrics(fastify);
  let lastFallbackLog = 0;
  const limits = new Limits(
    {
      kind: o.kind, db: o.db, redis: o.redis, timeoutMs: o.storeTimeoutMs, keyPrefix: options.keyPrefix,
      onStoreFailure: (limit) => m.storeFailures.inc({ limit }),
      onFallback: (limit, error) => {
        m.insuranceAnswers.inc({ limit });
        if (Date.now() - lastFallbackLog < 10_000) return;
        lastFallbackLog = Date.now();
        fastify.log.warn({ limit, err: errorCodes(error) }, 'quota: store failed; the in-memory insurance limiter answers');
      },
    },
    o.now,
    FIELDS,
  );
  const keys = new Keys(o.keySecret, o.legacyClientKeys, o.legacyAccountKeys);
  const huge = 1_000_000;
  const book = new BanBook({
    ...o.bans, checkMs: o.banCheckMs, bans: limits.limiter({ name: 'bans', points: 1, duration: 1 }),
    violations: limits.limiter({ name: 'violations', points: huge, duration: o.bans.windowSeconds }), level: limits.limiter({ name: 'ban-level', points: huge, duration: 7 * 86_400 }),
  });
  const gate = o.authFailures ? new AuthGate(o.authFailures, limits.limiter(o.authFailures), o.banCheckMs) : null;
  const meter = new UsageMeter(o.db, o.meterFlushMs, (error) => fastify.log.warn({ err: errorCodes(error) }, 'quota: usage counters not written; kept for the next flush'));
  const warnings = new Warnings(o.db, o.thresholds, o.now);
  const planSpecs = new Map(Object.entries(o.plans).map(([name, plan]) => [name, planLimits(name, plan)]));
  const messageLimit = (plan: string): LimitSpec => ({ name: `${plan}.messages`, points: o.plans[plan]!.messagesPerDay, duration: 86_400 });
  fastify.decorateRequest(CLIENT, null);
  fastify.decorateRequest(FIELDS, null);

  const { audited, banTarget, hooks } = quotaEvents(fastify, book, warnings, options.onWarning, m);
  limits.hooks = hooks;
  /** A banned client's or account's refusal, counted. */
  const banned = (reply: FastifyReply, ms: number) => {
    m.bannedRefusals.inc();
    return refusal(reply, new QuotaBanned(), ms);
  };
  const accountForms = (id: string) => [keys.account(id), ...(keys.legacyAccount(id) === undefined ? [] : [id])];

  // A route declared before quota was registered gets the IP ban but no limits (its onRoute came
  // too early): said once per route, loudly, as the README's registration order warns. Looked for
  // in the first 10,000 requests and then one in 256: reading a request's route options builds an
  // object, a cost the hot path should not pay on every request.
  const told = new Set<string>();
  let looked = 0;
  const look = () => (looked < 10_000 ? ++looked : (++looked & 255) === 0);
  const unlimited = (request: FastifyRequest) => {
    const route = `${request.method} ${request.routeOptions.url}`;
    if (told.has(route) || told.size > 1000) return;
    told.add(route);
    fastify.log.error({ route }, 'quota: this route was declared before @harakaflow/quota was registered, so it has no limits; register quota before declaring routes');
  };

  // The IP ban comes first, on every request but the skipped paths (/health), before authentication:
  // a global onRequest hook, registered before the app's. The client key and the ban state come
  // from memory; only a client not seen for banCheckIntervalMs costs a store read.
  fastify.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    const q = url.indexOf('?');
    if (o.skip.has(q === -1 ? url : url.slice(0, q))) return done();
    const ip = keys.client(request.ip);
    const raw = keys.legacyClient(request.ip);
    const client: Client = { keys: raw === undefined ? [ip] : [ip, raw], skip: o.allowIp(request.ip) };
    (request as unknown as Record<symbol, Client>)[CLIENT] = client;
    if (look() && !request.is404 && !(request.routeOptions.config as unknown as Record<symbol, unknown>)[SEEN]) unlimited(request);
    if (client.skip) return done();
    const known = book.cached(ip);
    if (known !== undefined && known > 0) return void banned(reply, known);
    if (known === 0 && (raw === undefined || book.cached(raw) === 0)) return done();
    book.anyRemainingMs(client.keys).then((ms) => (ms > 0 ? void banned(reply, ms) : done()), done);
  });

  // Limits are route hooks, added when each route is declared: a route with `quota: false` or a
  // skipped path costs nothing. Route hooks run after the app's global onRequest hooks, so the
  // subject is known.
  fastify.addHook('onRoute', (route) => {
    route.config = { ...route.config, [SEEN]: true } as typeof route.config;
    const config = (route.config as { quota?: false | RouteQuota } | undefined)?.quota;
    if (config === false || o.skip.has(route.url)) return;
    const rq = config || undefined;
    for (const spec of rq?.limits ?? []) {
      if (typeof spec?.name !== 'string' || !POLICY_NAME.test(spec.name)) throw invalidOption(`config.quota.limits of ${route.url}`, 'names a limit with lower-case letters, digits, _, - or . (it is a RateLimit policy name)');
    }
    const failClosed = rq?.failClosed ?? false;
    const anonymousSet = limits.prepare('anonymous', o.anonymousLimits, rq);
    const limitsHook = async (request: FastifyRequest, reply: FastifyReply) => {
      const client = clientOf(request);
      if (!client || client.skip) return;
      const id = o.subject(request);
      if (id === undefined) return (await limits.consumeAll(request, reply, client.keys, anonymousSet, 1, failClosed)) ? reply : undefined;
      if (o.allowAccounts.has(id)) return;
      const forms = accountForms(id);
      const ms = await book.anyRemainingMs(forms);
      if (ms > 0) return banned(reply, ms);
      const plan = o.planOf(request) ?? 'free';
      const specs = planSpecs.get(plan);
      if (!specs) throw unknownPlan('the request', plan);
      if (await limits.consumeAll(request, reply, forms, limits.prepare(plan, specs, rq), 1, failClosed, id)) return reply;
      meter.add(id, 'requests');
    };
    route.preParsing = [...hookList(route.preParsing), limitsHook];
    if (!rq?.messages) return;
    const cost = rq.messages;
    const messagesHook = async (request: FastifyRequest, reply: FastifyReply) => {
      const client = clientOf(request);
      const id = o.subject(request);
      if (!client || client.skip || id === undefined || o.allowAccounts.has(id)) return;
      const plan = o.planOf(request) ?? 'free';
      if (!o.plans[plan]) throw unknownPlan('the request', plan);
      if (await limits.consumeAll(request, reply, accountForms(id), limits.prepare(`${plan}.messages`, [messageLimit(plan)], undefined), cost, failClosed, id)) return reply;
      meter.add(id, 'messages', cost);
    };
    route.preHandler = [messagesHook, ...hookList(route.preHandler)];
  });

  const decorator = quotaDecorator({ fastify, o, keys, book, gate, meter, limits, planSpecs, messageLimit, audited, banTarget, clientOf, metrics: m });
  fastify.decorate('quota', decorator);
  registerQuotaData(fastify, { db: o.db, meter, bans: book, keys, limits, now: o.now, accountSpecs: () => [...[...planSpecs.values()].flat(), ...Object.keys(o.plans).map(messageLimit)] });
  fastify.addHook('onClose', () => meter.close());
};

export default quota;
