/** The security events of quota (bans, warnings) and the hooks that raise them while limits are consumed. */
import { securityEvent } from '@harakaflow/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppliedBan, BanBook } from './bans.js';
import type { QuotaMetrics } from './metrics.js';
import { bansOn, crossesThreshold } from './core.js';
import type { ConsumeHooks } from './limits.js';
import type { QuotaOptions } from './options.js';
import type { Warnings } from './warnings.js';

export function quotaEvents(
  fastify: FastifyInstance,
  book: BanBook,
  warnings: Warnings,
  onWarning: QuotaOptions['onWarning'],
  metrics: QuotaMetrics,
  thresholds: readonly number[],
) {
  /** How a ban's key appears in the audit log: an account's id, never a client's IP. */
  const banTarget = (key: string) =>
    key.startsWith('acct:')
      ? { resource: `account:${key.slice(5)}`, subjectId: key.slice(5) }
      : { resource: 'client-ip', subjectId: undefined };
  /** A ban applied (if any), counted under the limit that led to it, and audited. */
  const audited = async (key: string, ban: AppliedBan | null, limit: string, request?: FastifyRequest) => {
    if (!ban) return;
    metrics.bans.inc({ limit });
    await securityEvent(fastify, request, {
      action: 'quota.ban.applied',
      ...banTarget(key),
      outcome: 'success',
      details: { ...ban },
      durability: 'sync',
    });
  };
  const hooks: ConsumeHooks = {
    async refused(spec, forms, request) {
      metrics.refusals.inc({ limit: spec.name });
      // Bans are for abusing request rates; using up a plan's day quota is not abuse.
      if (bansOn(spec)) await audited(forms[0]!, await book.violation(forms), spec.name, request);
    },
    crosses: (points, before, after) => crossesThreshold(thresholds, points, before, after),
    async used(spec, subject, before, outcome, request) {
      for (const info of await warnings.due(subject, spec, before, outcome)) {
        await securityEvent(fastify, request, {
          action: 'quota.warning',
          resource: spec.name,
          outcome: 'success',
          subjectId: subject,
          details: { threshold: info.threshold, used: info.used, limit: info.limit },
        });
        await onWarning?.(subject, info);
      }
    },
  };
  return { audited, banTarget, hooks };
}
