/**
 * The app's retention classes (policy §4), beside those its packages register themselves
 * (notifications, webhook deliveries and replay keys, quota usage, and the audit log's
 * server_logs, which drops whole day partitions).
 */
import type { RetentionClass } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { tableClass } from '@harakaflow/retention';
import { sql } from 'drizzle-orm';
import type { AppConfig } from '../config/config.js';
import { contactRequests, idempotencyKeys, messageLog } from '../data/schema.js';

export function appRetentionClasses(
  db: Database,
  config: Pick<AppConfig, 'retentionMessageLogDays' | 'dataRightsPurgeAfterDays' | 'retentionRightsRequestsDays'>,
): RetentionClass[] {
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
      expired: (
        b,
      ) => sql`${messageLog.createdAt} < case (select a.plan from app.accounts a where a.id = ${messageLog.accountId})
        when 'pro' then ${b.planCutoffs.get('pro')!.toISOString()}::timestamptz
        when 'business' then ${b.planCutoffs.get('business')!.toISOString()}::timestamptz
        else ${b.cutoff.toISOString()}::timestamptz end`,
    }),
    tableClass({
      db,
      name: 'idempotency_keys',
      policyClause:
        '§4: technical records kept no longer than they serve (Idempotency-Key replays of POST /v1/messages, 24 hours)',
      periodDays: 1,
      table: idempotencyKeys,
      key: idempotencyKeys.createdAt,
      time: idempotencyKeys.createdAt,
    }),
    // Issue 32 item 3: a contact's request (the number, the person's address, the businesses'
    // answers) is proof it was answered, as rights requests are: kept RETENTION_RIGHTS_REQUESTS_DAYS
    // after the person heard the last answer; one never proved, 30 days.
    tableClass({
      db,
      name: 'contact_requests',
      policyClause:
        "§4, §6: a contact's request passed to the businesses holding the number, RETENTION_RIGHTS_REQUESTS_DAYS after its last answer was told (30 days when the number was never proved)",
      periodDays: config.retentionRightsRequestsDays,
      table: contactRequests,
      key: contactRequests.requestId,
      time: contactRequests.createdAt,
      expired: (b) => {
        const unproved = new Date(
          b.cutoff.getTime() + Math.max(0, config.retentionRightsRequestsDays - 30) * 86_400_000,
        );
        return sql`(${contactRequests.provedAt} is null and ${contactRequests.createdAt} < ${unproved.toISOString()}::timestamptz)
          or (${contactRequests.toldAt} < ${b.cutoff.toISOString()}::timestamptz and not exists (select 1 from app.forwarded_requests f where f.request_id = ${contactRequests.requestId}
            and (f.person_told_at is null or f.person_told_at >= ${b.cutoff.toISOString()}::timestamptz)))`;
      },
    }),
    {
      name: 'deleted_accounts',
      policyClause: '§4: account data until the account is deleted, then purged within 30 days (the data-rights purge)',
      periodDays: config.dataRightsPurgeAfterDays || null,
    },
    {
      name: 'media',
      policyClause: '§4: media, 30 days unless deleted sooner (no media stored by the reference app)',
      periodDays: 30,
    },
    {
      name: 'billing',
      policyClause: '§4: billing records, 7 years (no billing records in the reference app)',
      periodDays: 2557,
    },
  ];
}
