/**
 * The app's retention classes (policy §4), beside those its packages register themselves
 * (notifications, webhook deliveries and replay keys, quota usage, and the audit log's
 * server_logs, which drops whole day partitions).
 */
import type { RetentionClass } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { tableClass } from '@harakaflow/retention';
import { sql } from 'drizzle-orm';
import type { AppConfig } from './config.js';
import { idempotencyKeys, messageLog } from './schema.js';

export function appRetentionClasses(db: Database, config: Pick<AppConfig, 'retentionMessageLogDays' | 'dataRightsPurgeAfterDays'>): RetentionClass[] {
  const days = config.retentionMessageLogDays;
  return [
    tableClass({
      db,
      name: 'message_logs',
      policyClause: '§4: message logs, up to 90 days by default, configurable on higher plans',
      periodDays: days.free,
      perPlanDays: { pro: days.pro, business: days.business },
      table: messageLog,
      key: messageLog.id,
      time: messageLog.createdAt,
      subject: messageLog.accountId,
      // Each row's period is its account's plan's (an account gone: the free period).
      expired: (b) => sql`${messageLog.createdAt} < case (select a.plan from app.accounts a where a.id = ${messageLog.accountId})
        when 'pro' then ${b.planCutoffs.get('pro')!.toISOString()}::timestamptz
        when 'business' then ${b.planCutoffs.get('business')!.toISOString()}::timestamptz
        else ${b.cutoff.toISOString()}::timestamptz end`,
    }),
    tableClass({
      db,
      name: 'idempotency_keys',
      policyClause: '§4: technical records kept no longer than they serve (Idempotency-Key replays of POST /v1/messages, 24 hours)',
      periodDays: 1,
      table: idempotencyKeys,
      key: idempotencyKeys.createdAt,
      time: idempotencyKeys.createdAt,
    }),
    {
      name: 'deleted_accounts',
      policyClause: '§4: account data until the account is deleted, then purged within 30 days (the data-rights purge)',
      periodDays: config.dataRightsPurgeAfterDays || null,
    },
    { name: 'media', policyClause: '§4: media, 30 days unless deleted sooner (no media stored by the reference app)', periodDays: 30 },
    { name: 'billing', policyClause: '§4: billing records, 7 years (no billing records in the reference app)', periodDays: 2557 },
  ];
}
