/**
 * The quota plugin. Order of work on a request (registered before authentication in the app):
 *
 * onRequest   (global) the client's IP ban, from the ban book's cache or one store read (then
 *             cached): a banned client costs no store call and no database work after the first refusal.
 * onRequest   (the route's own, after every global onRequest hook, so after authentication) the
 *             account's ban, then every request limit that applies: the account's plan (burst,
 *             minute, day) or the IP's anonymous limits, plus route overrides, decided all or
 *             nothing from this replica's counters (written behind to the store: store.ts).
 *             Callback hooks: a request whose keys are known here costs no promise.
 * preHandler  (after validation) the messages-per-day quota on routes that send messages: one
 *             atomic store call, exact across replicas.
 * A refusal is 429 HF_QUOTA_EXCEEDED with Retry-After; repeated refusals ban the key with escalating
 * durations (403 HF_QUOTA_BANNED). Warnings fire once per (subject, quota, threshold, period).
 */
import { errorCodes } from '@harakaflow/core';
import { hookList } from '@harakaflow/core/internals';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { randomBytes } from 'node:crypto';
import { AuthGate } from './auth-gate.js';
import { BanBook } from './bans.js';
import { accountsBy, CLIENT, clientOf, clientsBy, type Client } from './clients.js';
import { quotaEvents } from './events.js';
import { planLimits, type LimitSpec } from './core.js';
import { QuotaBanned, unknownPlan } from './errors.js';
import { quotaDecorator } from './decorator.js';
import { Keys } from './keys.js';
import { refusal, type Prepared } from './limits-fields.js';
import { Limits } from './limits.js';
import { Store } from './store.js';
import { quotaMetrics } from './metrics.js';
import { checkRouteQuota, resolveOptions, type QuotaOptions, type RouteQuota } from './options.js';
import { registerQuotaData } from './personal-data.js';
import { UsageMeter } from './usage.js';
import { Warnings } from './warnings.js';

const FIELDS = Symbol('quotaFields');
/** Set on the config of every route quota saw declared: one declared before quota was registered has none. */
const SEEN = Symbol('quotaSeen');

const quota: FastifyPluginAsync<QuotaOptions> = async (fastify, options) => {
  const o = resolveOptions(options, () => randomBytes(32));
  const m = quotaMetrics(fastify);
  let lastFallbackLog = 0;
  const store = new Store({
    kind: o.kind,
    db: o.db,
    redis: o.redis,
    timeoutMs: o.storeTimeoutMs,
    keyPrefix: options.keyPrefix,
    flushMs: o.flushMs,
    flushIncrements: o.flushIncrements,
    onStoreFailure: (limit) => m.storeFailures.inc({ limit }),
    onFallback: (limit, error) => {
      m.insuranceAnswers.inc({ limit });
      if (Date.now() - lastFallbackLog < 10_000) return;
      lastFallbackLog = Date.now();
      fastify.log.warn(
        { limit, err: errorCodes(error) },
        'quota: store failed; the in-memory insurance limiter answers',
      );
    },
  });
  const limits = new Limits(store, o.now, FIELDS);
  const keys = new Keys(o.keySecret, o.legacyClientKeys, o.legacyAccountKeys, o.previousKeySecrets);
  const huge = 1_000_000;
  const book = new BanBook({
    ...o.bans,
    checkMs: o.banCheckMs,
    bans: limits.limiter({ name: 'bans', points: 1, duration: 1 }),
    violations: limits.limiter({ name: 'violations', points: huge, duration: o.bans.windowSeconds }),
    level: limits.limiter({ name: 'ban-level', points: huge, duration: 7 * 86_400 }),
  });
  const gate = o.authFailures ? new AuthGate(o.authFailures, limits.limiter(o.authFailures), o.banCheckMs) : null;
  const meter = new UsageMeter(o.db, o.meterFlushMs, (error) =>
    fastify.log.warn({ err: errorCodes(error) }, 'quota: usage counters not written; kept for the next flush'),
  );
  const warnings = new Warnings(o.db, o.thresholds, o.now);
  const planSpecs = new Map(Object.entries(o.plans).map(([name, plan]) => [name, planLimits(name, plan)]));
  const messageLimits = new Map(
    Object.entries(o.plans).map(([plan, p]) => [
      plan,
      { name: `${plan}.messages`, points: p.messagesPerDay, duration: 86_400 } as LimitSpec,
    ]),
  );
  const messageLimit = (plan: string): LimitSpec => messageLimits.get(plan)!;
  fastify.decorateRequest(CLIENT, null);
  fastify.decorateRequest(FIELDS, null);

  const { audited, banTarget, hooks } = quotaEvents(fastify, book, warnings, options.onWarning, m, o.thresholds);
  limits.hooks = hooks;
  /** A banned client's or account's refusal, counted. */
  const banned = (reply: FastifyReply, ms: number) => {
    m.bannedRefusals.inc();
    return refusal(reply, new QuotaBanned(), ms);
  };
  // An account's keys and a client's, made once per id or address (the hot path allocates nothing for them).
  const accountForms = accountsBy(keys);
  const clientFor = clientsBy(keys, o.allowIp);
  /** A decision's result, for a callback hook: admitted (next hook), answered (nothing), or later. */
  const settle = (result: boolean | Promise<boolean>, done: HookHandlerDoneFunction) => {
    if (result === false) return done();
    if (result === true) return;
    result.then((answered) => (answered ? undefined : done()), done);
  };

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
    fastify.log.error(
      { route },
      'quota: this route was declared before @harakaflow/quota was registered, so it has no limits; register quota before declaring routes',
    );
  };

  // The IP ban comes first, on every request but the skipped paths (/health), before authentication:
  // a global onRequest hook, registered before the app's. The client key and the ban state come
  // from memory; only a client not seen for banCheckIntervalMs costs a store read.
  fastify.addHook('onRequest', (request, reply, done) => {
    const url = request.url;
    const q = url.indexOf('?');
    if (o.skip.has(q === -1 ? url : url.slice(0, q))) return done();
    const client = clientFor(request.ip);
    (request as unknown as Record<symbol, Client>)[CLIENT] = client;
    if (look() && !request.is404 && !(request.routeOptions.config as unknown as Record<symbol, unknown>)[SEEN])
      unlimited(request);
    if (client.skip) return done();
    const ms = book.check(client.keys);
    if (typeof ms === 'number') return ms > 0 ? void banned(reply, ms) : done();
    ms.then((left) => (left > 0 ? void banned(reply, left) : done()), done);
  });

  // Limits are route hooks, added when each route is declared: a route with `quota: false` or a
  // skipped path costs nothing. Route hooks run after the app's global onRequest hooks, so the
  // subject is known.
  fastify.addHook('onRoute', (route) => {
    route.config = { ...route.config, [SEEN]: true } as typeof route.config;
    const config = (route.config as { quota?: false | RouteQuota } | undefined)?.quota;
    if (config === false || o.skip.has(route.url)) return;
    const rq = config || undefined;
    if (rq) checkRouteQuota(route.url, rq);
    const failClosed = rq?.failClosed ?? false;
    const anonymousSet = limits.prepare('anonymous', o.anonymousLimits, rq);
    const limitsHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const client = clientOf(request);
      if (!client || client.skip) return done();
      try {
        const id = o.subject(request);
        if (id === undefined)
          return settle(limits.consumeAll(request, reply, client.keys, anonymousSet, 1, failClosed), done);
        if (o.allowAccounts.has(id)) return done();
        const forms = accountForms(id);
        const ms = book.check(forms);
        if (typeof ms === 'number') {
          if (ms > 0) return void banned(reply, ms);
          return settle(accountLimits(request, reply, id, forms), done);
        }
        ms.then((left) =>
          left > 0 ? void banned(reply, left) : settle(accountLimits(request, reply, id, forms), done),
        ).catch(done);
      } catch (error) {
        done(error as Error);
      }
    };
    /** This route's limit lists per plan, made once. */
    const planSets = new Map<string, Prepared>();
    const planSet = (plan: string) => {
      let set = planSets.get(plan);
      if (set === undefined) {
        const specs = planSpecs.get(plan);
        if (!specs) throw unknownPlan('the request', plan);
        planSets.set(plan, (set = limits.prepare(plan, specs, rq)));
      }
      return set;
    };
    /** The account's plan limits (and the route's own): admitted requests are metered. */
    const accountLimits = (
      request: FastifyRequest,
      reply: FastifyReply,
      id: string,
      forms: string[],
    ): boolean | Promise<boolean> => {
      const result = limits.consumeAll(request, reply, forms, planSet(o.planOf(request) ?? 'free'), 1, failClosed, id);
      if (result === false) meter.add(id, 'requests');
      else if (result !== true) {
        return result.then((answered) => {
          if (!answered) meter.add(id, 'requests');
          return answered;
        });
      }
      return result;
    };
    // Route onRequest hooks run after every global one (authentication included), and before the
    // body is read: a refused request costs no parsing.
    route.onRequest = [...hookList(route.onRequest), limitsHook];
    if (rq?.keyed?.limits.length) {
      const { key } = rq.keyed;
      // Never toward a ban: the key is not a client (a ban of it would refuse nobody).
      const sets = rq.keyed.limits.map((spec) => limits.prepareExact({ ...spec, ban: false }));
      const keyedHook = async (request: FastifyRequest, reply: FastifyReply) => {
        const client = clientOf(request);
        const raw = key(request);
        if (!client || client.skip || typeof raw !== 'string' || raw === '') return;
        const forms = [keys.named(raw)];
        for (const set of sets) if (await limits.consumeExact(request, reply, forms, set, 1, failClosed)) return reply;
      };
      route.preHandler = [keyedHook, ...hookList(route.preHandler)];
    }
    if (!rq?.messages) return;
    const cost = rq.messages;
    const messagesHook = async (request: FastifyRequest, reply: FastifyReply) => {
      const client = clientOf(request);
      const id = o.subject(request);
      if (!client || client.skip || id === undefined || o.allowAccounts.has(id)) return;
      const plan = o.planOf(request) ?? 'free';
      if (!o.plans[plan]) throw unknownPlan('the request', plan);
      if (
        await limits.consumeExact(
          request,
          reply,
          accountForms(id),
          limits.prepareExact(messageLimit(plan)),
          cost,
          failClosed,
          id,
        )
      )
        return reply;
      meter.add(id, 'messages', cost);
    };
    route.preHandler = [messagesHook, ...hookList(route.preHandler)];
  });

  const decorator = quotaDecorator({
    fastify,
    o,
    keys,
    book,
    gate,
    meter,
    limits,
    planSpecs,
    messageLimit,
    audited,
    banTarget,
    clientOf,
    metrics: m,
  });
  fastify.decorate('quota', decorator);
  registerQuotaData(fastify, {
    db: o.db,
    meter,
    bans: book,
    keys,
    limits,
    now: o.now,
    accountSpecs: () => [
      ...[...planSpecs.values()].flat().map((spec) => ({ spec, exact: false })),
      ...[...messageLimits.values()].map((spec) => ({ spec, exact: true })),
    ],
  });
  fastify.addHook('onClose', async () => {
    await meter.close();
    await store.close();
  });
};

export default quota;
