/**
 * Erasures other packages decide on (the age gate's minor erasure, policy §8) and their state. Internal: reached
 * through `DataRights`.
 */
import type { SubjectRef } from '@harakaflow/core';
import { eq } from 'drizzle-orm';
import type { Ledger } from './ledger.js';
import { erasureJobs } from './schema.js';
import { subjectHash } from './subject.js';
import type { HistoryEntry } from './types.js';

/**
 * An erasure another package decides on (the age gate's minor erasure, policy §8): one deletion
 * request filed by the admin and run by the same job, at `dueAt` (at once when it is due: the
 * call returns when it is done, `run` running the job). Idempotent: a deletion of the subject
 * already filed, running or done is the one that counts. No existence check: the subject may already be gone.
 */
export async function scheduleErasure(
  l: Ledger,
  accountId: string,
  job: { dueAt: Date; reason: string },
  run: (requestId: string | undefined) => Promise<number>,
): Promise<void> {
  const c = l.c;
  const ref: SubjectRef = { kind: 'account', accountId };
  const hash = subjectHash(c.subjectKey, ref);
  const existing = await l.deletionOf(hash, ['open', 'in_progress', 'fulfilled']);
  let id = existing?.id;
  if (!existing) {
    const at = l.now();
    const history: HistoryEntry[] = [
      { status: 'open', at: at.toISOString(), by: 'admin', note: job.reason.slice(0, 500) },
      {
        status: 'in_progress',
        at: at.toISOString(),
        by: 'system',
        event: 'purge-scheduled',
        note: `purge at ${job.dueAt.toISOString()}`,
      },
    ];
    // A fresh id: the insert always makes the row.
    const row = (await l.insert(
      {
        kind: 'deletion',
        subject: ref,
        hash,
        status: 'in_progress',
        filedBy: 'admin',
        verification: 'reported by the age gate',
        history,
      },
      at,
    ))!;
    id = row.id;
    await c.db
      .insert(erasureJobs)
      .values({ requestId: id, status: 'pending', dueAt: job.dueAt, progress: {} })
      .onConflictDoNothing();
    await l.event('data_rights.request.received', row, { filedBy: 'admin', via: 'age-gate' });
  } else if (existing.status === 'fulfilled') return;
  if (job.dueAt.getTime() <= c.now()) await run(id);
}

/** The state of the latest erasure of an account (the age gate's report answers with it). */
export async function erasureState(
  l: Ledger,
  accountId: string,
): Promise<{
  status: 'pending' | 'running' | 'done';
  completedAt: Date | null;
  counts: Record<string, number> | null;
} | null> {
  const hash = subjectHash(l.c.subjectKey, { kind: 'account', accountId });
  const row = await l.deletionOf(hash, ['in_progress', 'fulfilled']);
  if (!row) return null;
  if (row.status === 'fulfilled' && row.receipt) {
    return {
      status: 'done',
      completedAt: new Date(row.receipt.completedAt),
      counts: Object.fromEntries(row.receipt.handlers.map((h) => [h.name, h.erased])),
    };
  }
  const [job] = await l.c.db
    .select({ status: erasureJobs.status })
    .from(erasureJobs)
    .where(eq(erasureJobs.requestId, row.id));
  return { status: job?.status === 'running' ? 'running' : 'pending', completedAt: null, counts: null };
}
