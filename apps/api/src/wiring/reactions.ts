/**
 * The app's reactions to what its plugins report (quota warnings, a disabled webhook endpoint, a
 * minor's erasure, a message about to be sent), each a named function taking what it needs; the
 * wiring table (plugins.ts) hands them to the plugins. Data rights' reactions are in reactions-rights.ts.
 */
import type { AgeGateOptions } from '@harakaflow/age-gate';
import type { NotifyOptions } from '@harakaflow/notify';
import type { WarningInfo } from '@harakaflow/quota';
import type { WebhooksOptions } from '@harakaflow/webhooks';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../config/config.js';
import { issueVerificationCode, verificationCodeKey } from '../data/accounts.js';
import { utcMinute } from '../data/dates.js';
import { endpointDisabledNotice } from '../privacy/notices.js';
import { requestCodeData } from '../privacy/rights-intake.js';
import type { Db } from './context.js';

type DisabledEndpoint = Parameters<NonNullable<WebhooksOptions['onEndpointDisabled']>>[0];
type Outgoing = Parameters<NonNullable<NotifyOptions['enrich']>>[0];

/** The "rate limit warning" notification of policy §2: an email (an optional kind), and the account's webhooks. */
export async function warnOfQuota(app: FastifyInstance, accountId: string, info: WarningInfo): Promise<void> {
  const payload = {
    quota: info.quota,
    threshold: info.threshold,
    used: info.used,
    limit: info.limit,
    resetAt: info.resetAt.toISOString(),
  };
  await app.notify.enqueue({
    kind: 'quota.warning',
    accountId,
    data: { ...payload, percent: Math.round(info.threshold * 100) },
  });
  await app.webhooks.emit(accountId, 'quota.warning', payload);
}

/** A minor's erasure runs through the same job as every deletion (data rights, registered later). */
export function minorErasureThroughDataRights(app: FastifyInstance): NonNullable<AgeGateOptions['erasure']> {
  return {
    schedule: (subjectId, job) => app.dataRights.scheduleErasure(subjectId, job),
    state: (subjectId) => app.dataRights.erasureState(subjectId),
  };
}

/** Issue 34 item 3: a disabled endpoint is an email to the account (a kind of its own), beside the audit event. */
export async function tellEndpointDisabled(app: FastifyInstance, endpoint: DisabledEndpoint): Promise<void> {
  await app.notify.enqueue(endpointDisabledNotice(endpoint));
}

/**
 * What a message gets as it is sent, never kept in the outbox: an address's verification code, the
 * code of a request made without an API key, or an export's link.
 */
export async function enrichMessage(
  app: FastifyInstance,
  db: Db,
  config: AppConfig,
  { kind, accountId, data }: Outgoing,
) {
  // The verification code is made as its message is sent: it is in the message only (false: verified meanwhile).
  if (kind === 'account.email.verification' && accountId) {
    const issued = await issueVerificationCode(
      db,
      verificationCodeKey(config.secrets.dataRightsSubjectKey),
      accountId,
      new Date(),
    );
    return issued ? { code: issued.code, expiresAt: utcMinute(issued.expiresAt) } : false;
  }
  // The code of a request made without an API key (issue 32), made as its message is sent.
  const code = await requestCodeData(app, config.publicUrl, kind, data);
  if (code !== undefined) return code;
  if (kind !== 'privacy.request.updated' || data.status !== 'fulfilled' || typeof data.requestId !== 'string')
    return null;
  // The link itself (the admin's views never show it: issue 30 item 7).
  const link = await app.dataRights.exportLink(data.requestId).catch(() => null);
  return link ? { exportUrl: `${config.publicUrl}${link.url}`, exportExpiresAt: link.expiresAt } : null;
}
