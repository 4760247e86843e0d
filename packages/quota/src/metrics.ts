/**
 * What quota reports through core's metrics interface (no metrics library here): refusals and bans
 * by limit, the store's failures and the insurance limiter's answers. Labels are limit names (from
 * the plans and routes' config) or `operator`: never a key, an IP or an account.
 */
import { metrics } from '@harakaflow/core';
import type { FastifyInstance } from 'fastify';

export function quotaMetrics(fastify: FastifyInstance) {
  const m = metrics(fastify);
  return {
    refusals: m.counter({
      name: 'harakaflow_quota_refusals_total',
      help: 'Requests refused by a limit (429 HF_QUOTA_EXCEEDED), by limit',
      labelNames: ['limit'],
    }),
    bannedRefusals: m.counter({
      name: 'harakaflow_quota_banned_refusals_total',
      help: 'Requests refused because their client or account is banned (403 HF_QUOTA_BANNED)',
    }),
    bans: m.counter({
      name: 'harakaflow_quota_bans_total',
      help: 'Bans applied, by the limit whose refusals led to them (operator: applied by hand)',
      labelNames: ['limit'],
    }),
    storeFailures: m.counter({
      name: 'harakaflow_quota_store_failures_total',
      help: 'Calls to the shared quota store (Redis or Postgres) that failed or timed out, by limit',
      labelNames: ['limit'],
    }),
    insuranceAnswers: m.counter({
      name: 'harakaflow_quota_insurance_answers_total',
      help: 'Calls answered by the in-memory insurance limiter because the store failed, by limit',
      labelNames: ['limit'],
    }),
  };
}

export type QuotaMetrics = ReturnType<typeof quotaMetrics>;
