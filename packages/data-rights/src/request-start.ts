/** What each kind of request does once its requester is verified (an export, a scheduled purge, a restriction...). */
import { erasureJobs, restrictions } from './schema.js';
import { DAY, type Ledger, type Row } from './ledger.js';
import { exportRequest } from './request-export.js';
import type { Actor } from './types.js';

/** What each kind does once the requester is verified. */
export async function startRequest(l: Ledger, row: Row): Promise<Row> {
  const by: Actor = 'system';
  switch (row.kind) {
    case 'deletion': {
      const purgeAt = new Date(l.c.now() + l.c.purgeAfterDays * DAY);
      // A contact's number or an email has no account to hold back: erased at once.
      const dueAt = row.subjectKind === 'account' ? purgeAt : l.now();
      await l.c.db
        .insert(erasureJobs)
        .values({ requestId: row.id, status: 'pending', dueAt, progress: {} })
        .onConflictDoNothing();
      if (row.subjectKind === 'account') await l.c.onPendingDeletion?.(row.accountId!, true);
      const moved = await l.move(
        row,
        'in_progress',
        by,
        {},
        { event: 'purge-scheduled', note: `purge at ${dueAt.toISOString()}` },
      );
      // Due now: run once the request that filed it has been answered (and its own access event
      // queued), so the purge reaches that event too.
      if (dueAt.getTime() <= l.c.now()) l.c.kick?.();
      return moved;
    }
    case 'access':
    case 'portability': {
      const moved = await l.move(row, 'in_progress', by, {}, { event: 'export-started' });
      return exportRequest(l, moved);
    }
    case 'restriction': {
      if (row.subjectKind !== 'account')
        return l.move(row, 'denied', by, {}, { note: 'restriction applies to an account' });
      await l.c.db
        .insert(restrictions)
        .values({ accountId: row.accountId!, requestId: row.id, since: l.now() })
        .onConflictDoNothing();
      return l.move(row, 'fulfilled', by, {}, { event: 'restricted' });
    }
    case 'withdraw_consent': {
      if (row.subjectKind !== 'account' || !l.c.withdrawConsent) return row;
      const written = await l.c.withdrawConsent(row.accountId!);
      return l.move(row, 'fulfilled', by, {}, { event: 'consent-withdrawn', note: `${written} ledger record(s)` });
    }
    // Correction of an email and objection go to the admin queue as they are.
    default:
      return row;
  }
}
