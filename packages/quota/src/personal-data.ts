/**
 * What quota keeps about a person, and for how long: usage counters and warning rows in Postgres
 * (retention class `quota_usage`, 90 days, policy §2 and §4), and counters and bans in the store.
 * Exported and erased per account (contract item 5).
 */
import { registerPersonalDataHandler, registerRetentionClass } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { and, eq, inArray, lt, notInArray, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { BanBook } from './bans.js';
import { isCalendarDay, type LimitSpec } from './core.js';
import type { Keys } from './keys.js';
import { limitKey } from './limits-fields.js';
import type { Limits } from './limits.js';
import { usageDaily, warningsSent } from './schema.js';
import type { UsageMeter } from './usage.js';

export interface QuotaData {
  db: Database | undefined;
  meter: UsageMeter;
  bans: BanBook;
  keys: Keys;
  limits: Limits;
  /** Every limit an account counts against (each plan's requests, written behind, and messages, exact). */
  accountSpecs: () => { spec: LimitSpec; exact: boolean }[];
  now: () => number;
}

export function registerQuotaData(fastify: FastifyInstance, d: QuotaData): void {
  if (d.db) {
    const store = d.db;
    registerRetentionClass(fastify, {
      name: 'quota_usage',
      policyClause: '§2, §4: usage metering (requests and messages per day) and quota warnings sent, 90 days',
      periodDays: 90,
      purgeBatch: async (b) => {
        const day = b.cutoff.toISOString().slice(0, 10);
        const usageWhere = and(
          lt(usageDaily.day, day),
          b.heldSubjects.length ? notInArray(usageDaily.accountId, [...b.heldSubjects]) : undefined,
        );
        const warnWhere = and(
          sql`${warningsSent.periodEnd} < ${b.cutoff.toISOString()}::timestamptz`,
          b.heldSubjects.length ? notInArray(warningsSent.subject, [...b.heldSubjects]) : undefined,
        );
        if (b.dryRun) {
          const n = async (q: Promise<{ n: number }[]>) => Number((await q)[0]?.n ?? 0);
          return {
            rows:
              (await n(
                store
                  .select({ n: sql<number>`count(*)::int` })
                  .from(usageDaily)
                  .where(usageWhere),
              )) +
              (await n(
                store
                  .select({ n: sql<number>`count(*)::int` })
                  .from(warningsSent)
                  .where(warnWhere),
              )),
            done: true,
          };
        }
        // The usage table's key is (account, day, metric): a batch deletes by that key.
        const victims = store
          .select({ a: usageDaily.accountId, d: usageDaily.day, m: usageDaily.metric })
          .from(usageDaily)
          .where(usageWhere)
          .limit(b.limit);
        const usage = (
          await store
            .delete(usageDaily)
            .where(sql`(${usageDaily.accountId}, ${usageDaily.day}, ${usageDaily.metric}) in (${victims})`)
            .returning({ a: usageDaily.accountId })
        ).length;
        const left = b.limit - usage;
        let warnings = 0;
        if (left > 0) {
          const keys = store.select({ s: warningsSent.subject }).from(warningsSent).where(warnWhere).limit(left);
          warnings = (
            await store
              .delete(warningsSent)
              .where(and(warnWhere, inArray(warningsSent.subject, keys)))
              .returning({ s: warningsSent.subject })
          ).length;
        }
        return { rows: usage + warnings, done: usage + warnings < b.limit };
      },
    });
  }

  registerPersonalDataHandler(fastify, {
    name: 'quota',
    identifiers: ['account'],
    // A legal hold on the subject for this class keeps its usage records through an erasure.
    retentionClasses: ['quota_usage'],
    async exportSubject(ref) {
      const accountId = (ref as { accountId: string }).accountId;
      const usage = await d.meter.rows(accountId);
      let bannedUntil: Date | null = null;
      for (const key of d.keys.allForms(accountId)) bannedUntil ??= await d.bans.bannedUntil(key);
      return { usage, bannedUntil: bannedUntil?.toISOString() ?? null };
    },
    async eraseSubject(ref) {
      const accountId = (ref as { accountId: string }).accountId;
      let erased = await d.meter.erase(accountId);
      if (d.db)
        erased += (
          await d.db
            .delete(warningsSent)
            .where(eq(warningsSent.subject, accountId))
            .returning({ s: warningsSent.subject })
        ).length;
      const forms = d.keys.allForms(accountId);
      await d.bans.erase(forms);
      const at = d.now();
      for (const { spec, exact } of d.accountSpecs()) {
        for (const key of forms) {
          // Day-scale limits count under today's key (and yesterday's, still alive until it expires).
          const keys = isCalendarDay(spec) ? [limitKey(spec, key, at), limitKey(spec, key, at - 86_400_000)] : [key];
          for (const k of keys) await d.limits.erase(spec, k, exact).catch(() => undefined);
        }
      }
      return { erased };
    },
  });
}
