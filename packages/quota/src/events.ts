/** The security events of quota (bans, warnings) and the hooks that raise them while limits are consumed. */
import { securityEvent } from '@harakaflow/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppliedBan, BanBook } from './bans.js';
import { bansOn } from './core.js';
import type { ConsumeHooks } from './limits.js';
import type { QuotaOptions } from './options.js';
import type { Warnings } from './warnings.js';

export function quotaEvents(fastify: FastifyInstance, book: BanBook, warnings: Warnings, onWarning: QuotaOptions['onWarning']) {
  /** How a ban's key appears in the audit log: an account's id, never a client's IP. */
  const banTarget = (key: string) => (key.startsWith('acct:') ? { resource: `account:${key.slice(5)}`, subjectId: key.slice(5) } : { resource: 'client-ip', subjectId: undefined });
  const audited = async (key: string, ban: AppliedBan | null, request?: FastifyRequest) => {
    if (ban) await securityEvent(fastify, request, { action: 'quota.ban.applied', ...banTarget(key), outcome: 'success', details: { ...ban }, durability: 'sync' });
  };
  const hooks: ConsumeHooks = {
    async refused(spec, forms, request) {
      // Bans are for abusing request rates; using up a plan's day quota is not abuse.
      if (bansOn(spec)) await audited(forms[0]!, await book.violation(forms), request);
    },
    async used(spec, subject, before, outcome, request) {
      for (const info of await warnings.due(subject, spec, before, outcome)) {
        await securityEvent(fastify, request, { action: 'quota.warning', resource: spec.name, outcome: 'success', subjectId: subject, details: { threshold: info.threshold, used: info.used, limit: info.limit } });
        await onWarning?.(subject, info);
      }
    },
  };
  return { audited, banTarget, hooks };
}
