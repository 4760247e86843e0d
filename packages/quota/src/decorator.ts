/** `fastify.quota`: bans by operators, usage, status, and the failed-authentication gate. */
import { securityEvent } from '@harakaflow/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthGate } from './auth-gate.js';
import type { AppliedBan, BanBook } from './bans.js';
import { POLICY_NAME, policyField, rateLimitField, type LimitSpec } from './core.js';
import { invalidOption, QuotaExceeded, unknownPlan } from './errors.js';
import type { QuotaDecorator } from './fastify.js';
import type { Keys } from './keys.js';
import { limitKey, refusal, resetMs } from './limits-fields.js';
import type { Limits } from './limits.js';
import type { QuotaMetrics } from './metrics.js';
import { positive, type Resolved } from './options.js';
import type { Client } from './clients.js';
import type { UsageMeter } from './usage.js';

export interface DecoratorParts {
  fastify: FastifyInstance;
  o: Resolved;
  keys: Keys;
  book: BanBook;
  gate: AuthGate | null;
  meter: UsageMeter;
  limits: Limits;
  planSpecs: Map<string, LimitSpec[]>;
  messageLimit: (plan: string) => LimitSpec;
  audited: (key: string, ban: AppliedBan | null, limit: string, request?: FastifyRequest) => Promise<void>;
  banTarget: (key: string) => { resource: string; subjectId: string | undefined };
  clientOf: (request: FastifyRequest) => Client | null | undefined;
  metrics: QuotaMetrics;
}

export function quotaDecorator(p: DecoratorParts): QuotaDecorator {
  const {
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
    metrics,
  } = p;
  return {
    async ban(key, seconds, reason) {
      const forms = keys.banKeys(key);
      await book.ban(forms, positive('seconds', seconds));
      await audited(forms[0]!, { seconds, reason }, 'operator');
    },
    async unban(key) {
      const forms = keys.allForms(key);
      await book.lift(forms);
      await securityEvent(fastify, undefined, {
        action: 'quota.ban.lifted',
        ...banTarget(forms[0]!),
        outcome: 'success',
        durability: 'sync',
      });
    },
    usage: (accountId, range) => meter.usage(accountId, range),
    meter: (accountId, metric, n = 1) => meter.add(accountId, metric, n),
    async status(accountId, plan) {
      if (!o.plans[plan]) throw unknownPlan('status()', plan);
      const at = o.now();
      const list = [];
      const message = messageLimit(plan);
      for (const spec of [...planSpecs.get(plan)!, message]) {
        const state = await limits.state(spec, limitKey(spec, keys.account(accountId), at), spec === message);
        list.push({
          name: spec.name,
          limit: spec.points,
          used: state ? Math.min(state.consumed, spec.points) : 0,
          resetAt: state ? new Date(at + resetMs(spec, state, at)) : null,
        });
      }
      return { plan, limits: list };
    },
    async authGate(request, reply) {
      const client = clientOf(request);
      if (!gate || !client || client.skip) return false;
      const answer = await gate.check(client.keys[0]!);
      if (!answer.refused) return false;
      reply.header('RateLimit-Policy', policyField([gate.spec]));
      reply.header('RateLimit', rateLimitField(gate.spec.name, 0, answer.msBeforeNext / 1000));
      metrics.refusals.inc({ limit: gate.spec.name });
      await audited(client.keys[0]!, await book.violation(client.keys), gate.spec.name, request);
      refusal(
        reply,
        new QuotaExceeded(
          `too many failed authentications: the limit of ${gate.spec.points} per ${gate.spec.duration} s is used up`,
        ),
        answer.msBeforeNext,
      );
      return true;
    },
    authClear(request) {
      const client = clientOf(request);
      return !gate || !client || client.skip || gate.clear(client.keys[0]!);
    },
    async authFailed(request) {
      const client = clientOf(request);
      if (gate && client && !client.skip) await gate.failed(client.keys[0]!);
    },
    async take(spec, key, cost = 1) {
      if (typeof spec?.name !== 'string' || !POLICY_NAME.test(spec.name))
        throw invalidOption('take(spec)', 'names a limit with lower-case letters, digits, _, - or .');
      const at = o.now();
      const outcome = await limits
        .limiter(spec)
        .consume(limitKey(spec, keys.named(key), at), positive('take(cost)', cost), true);
      if (!outcome.allowed) metrics.refusals.inc({ limit: spec.name });
      return { allowed: outcome.allowed, remaining: outcome.remaining, resetMs: resetMs(spec, outcome, at) };
    },
    clientKey: (request) => keys.client(request.ip),
    storeCalls: () => limits.calls(),
    sync: () => limits.store.sync(),
    unsyncedPeak: () => limits.store.unsyncedPeak,
  };
}
