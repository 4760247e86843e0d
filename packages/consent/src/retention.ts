/**
 * The ledger's retention class (§4, contract 5b; issue 30 item 4): `consent_ledger`, run by
 * `@harakaflow/retention`. Each batch is one call of `consent.purge_ledger` (drizzle/0003), the one
 * way past the append-only trigger besides a subject's erasure:
 * - a row's IP and user agent are erased 90 days after it was written (§4: server logs, "up to 90
 *   days"; they are technical data of §1, kept for the same security purpose);
 * - the decision itself is kept while it is its browser's current choice and for 3 years after it
 *   stopped being that (the README says why), then the row goes.
 * The periods are fixed in the function: what this passes can only make them longer. The legal holds
 * too: since drizzle/0004 the function reads `retention.holds` itself (a hold on the whole class
 * stops it; a held subject's rows stay) and ignores the held subjects passed here, which are still
 * passed so that a database without 0004 keeps them during a rolling deploy.
 */
import { purgeByCount, type RetentionClass } from '@harakaflow/core';
import { resultRows, type Database } from '@harakaflow/db';
import { isNotNull, min, or, sql } from 'drizzle-orm';
import { records } from './schema.js';

/** Days a ledger row keeps its IP and user agent. */
export const LEDGER_PERSONAL_DAYS = 90;
/** Days a decision is kept as proof after it stopped being the visitor's current choice (3 years). */
export const LEDGER_PROOF_DAYS = 1095;
/**
 * The longest a decision's cookie lives (`maxAgeDays` is at most 400): a browser's decision with no
 * later record stops being its current choice by then at the latest.
 */
export const DECISION_MAX_AGE_DAYS = 400;

const DAY_MS = 86_400_000;

/** A Postgres array literal of text (`{"a","b"}`), passed as one parameter. */
const textArray = (values: readonly string[]) => `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;

/** The class: the IP cutoff is the batch's (its period, 90 days); the proof cutoff 3 years before now. */
export function consentRetentionClass(db: Database): RetentionClass {
  return {
    name: 'consent_ledger',
    policyClause:
      '§4 (server logs, up to 90 days), §7: the consent ledger; IP and user agent 90 days, a decision while it is the current choice and 3 years after',
    periodDays: LEDGER_PERSONAL_DAYS,
    purgeBatch: purgeByCount(async (b) => {
      const proofBefore = new Date(b.cutoff.getTime() - (LEDGER_PROOF_DAYS - LEDGER_PERSONAL_DAYS) * DAY_MS);
      const [row] = resultRows<{ n: number }>(
        await db.execute(
          sql`select consent.purge_ledger(${b.cutoff.toISOString()}::timestamptz, ${proofBefore.toISOString()}::timestamptz, ${textArray(b.heldSubjects)}::text[], ${b.limit}::int, ${b.dryRun}::boolean) as n`,
        ),
      );
      return Number(row?.n ?? 0);
    }),
    async oldest() {
      // The oldest row whose IP or user agent is still there: what the 90-day period is about.
      const [row] = await db
        .select({ at: min(records.createdAt) })
        .from(records)
        .where(or(isNotNull(records.ip), isNotNull(records.userAgent)));
      const at = row?.at as unknown;
      return at instanceof Date ? at : typeof at === 'string' ? new Date(at) : null;
    },
  };
}
