/**
 * The gate's records: verifications, restrictions, erasure jobs. Plain functions over drizzle.
 */
import type { PersonalDataHandler } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { and, eq, inArray, lte, or, sql } from 'drizzle-orm';
import { erasures, subjects } from './schema.js';

export interface Verification {
  verifiedAt: Date;
  method: 'self-declared';
  minimumAge: number;
}

export interface SubjectStatus {
  verified: boolean;
  restricted: boolean;
}

/** Records that a subject's age was verified. Takes a transaction so signup stays atomic. */
export async function recordVerification(db: Database, subjectId: string, v: Verification): Promise<void> {
  await db
    .insert(subjects)
    .values({ subjectId, verifiedAt: v.verifiedAt, method: v.method, minimumAge: v.minimumAge })
    .onConflictDoUpdate({
      target: subjects.subjectId,
      set: { verifiedAt: v.verifiedAt, method: v.method, minimumAge: v.minimumAge },
    });
}

export async function subjectStatus(db: Database, subjectId: string): Promise<SubjectStatus> {
  const [row] = await db
    .select({ verifiedAt: subjects.verifiedAt, restrictedAt: subjects.restrictedAt })
    .from(subjects)
    .where(eq(subjects.subjectId, subjectId));
  return { verified: Boolean(row?.verifiedAt), restricted: Boolean(row?.restrictedAt) };
}

/** Restricts the subject and schedules the erasure; idempotent (a second report changes nothing). */
export async function restrictAndSchedule(
  db: Database,
  subjectId: string,
  report: { reason: string; reportedBy: string; dueAt: Date; at: Date },
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .insert(subjects)
      .values({ subjectId, restrictedAt: report.at })
      .onConflictDoUpdate({
        target: subjects.subjectId,
        set: { restrictedAt: sql`coalesce(${subjects.restrictedAt}, excluded.restricted_at)` },
      });
    await tx
      .insert(erasures)
      .values({
        subjectId,
        reportedAt: report.at,
        reportedBy: report.reportedBy,
        reason: report.reason,
        dueAt: report.dueAt,
        status: 'pending',
      })
      .onConflictDoNothing();
  });
}

/** Claims due erasures (pending, or running but abandoned by a crashed worker). Safe across replicas. */
export async function claimDue(db: Database, now: Date, staleAfterMs: number, subjectId?: string): Promise<string[]> {
  const stale = new Date(now.getTime() - staleAfterMs);
  const due = or(
    and(eq(erasures.status, 'pending'), lte(erasures.dueAt, now)),
    and(eq(erasures.status, 'running'), lte(erasures.claimedAt, stale)),
  );
  // One UPDATE claims atomically: two replicas never claim the same row at the same time.
  const rows = await db
    .update(erasures)
    .set({ status: 'running', claimedAt: now })
    .where(subjectId ? and(due, eq(erasures.subjectId, subjectId)) : due)
    .returning({ subjectId: erasures.subjectId });
  return rows.map((r) => r.subjectId);
}

export async function completeErasure(
  db: Database,
  subjectId: string,
  counts: Record<string, number>,
  at: Date,
): Promise<void> {
  await db.update(erasures).set({ status: 'done', completedAt: at, counts }).where(eq(erasures.subjectId, subjectId));
}

export async function erasureOf(db: Database, subjectId: string) {
  const [row] = await db.select().from(erasures).where(eq(erasures.subjectId, subjectId));
  return row;
}

/**
 * The gate's own personal data: the verification record. A minor's restriction marker and erasure
 * record stay after an erasure (an opaque id, dates and counts), and the erasure says so in `kept`:
 * they are what proves the child's data was deleted, and what keeps the account refused.
 */
export function ageGatePersonalData(db: Database): PersonalDataHandler {
  return {
    name: 'age_gate',
    identifiers: ['account'],
    async exportSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      const [row] = await db.select().from(subjects).where(eq(subjects.subjectId, subjectId));
      return {
        verification: row?.verifiedAt
          ? { verifiedAt: row.verifiedAt.toISOString(), method: row.method, minimumAge: row.minimumAge }
          : null,
        restrictedAt: row?.restrictedAt?.toISOString() ?? null,
      };
    },
    async eraseSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      const restricted = await db
        .update(subjects)
        .set({ verifiedAt: null, method: null, minimumAge: null })
        .where(and(eq(subjects.subjectId, subjectId), sql`${subjects.restrictedAt} is not null`))
        .returning({ id: subjects.subjectId });
      const deleted = await db
        .delete(subjects)
        .where(and(inArray(subjects.subjectId, [subjectId]), sql`${subjects.restrictedAt} is null`))
        .returning({ id: subjects.subjectId });
      const [job] = await db.select({ id: erasures.subjectId }).from(erasures).where(eq(erasures.subjectId, subjectId));
      const keptCount = (restricted.length ? 1 : 0) + (job ? 1 : 0);
      return {
        erased: restricted.length + deleted.length,
        kept: keptCount
          ? [
              {
                count: keptCount,
                reason:
                  'the restriction marker and erasure record of a reported minor (policy §8): an opaque id, dates and counts that prove the erasure and keep the account refused',
              },
            ]
          : [],
      };
    },
  };
}
