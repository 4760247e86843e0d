import { and, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import { requests } from './schema.js';
import { DAY, effectiveDue, ts, type Ledger } from './ledger.js';

/**
 * The deadline alerts, each raised exactly once across replicas (the row is marked in the same
 * statement that finds it), and the expiry of emailed requests never verified.
 */
export async function checkDeadlines(l: Ledger): Promise<{ dueSoon: number; overdue: number; expired: number }> {
  const at = l.now();
  // Unverified emailed requests expire first: an expired request raises no alert.
  const unverified = await l.c.db
    .select()
    .from(requests)
    .where(
      and(
        eq(requests.status, 'open'),
        isNull(requests.verification),
        lte(requests.receivedAt, new Date(at.getTime() - l.c.verifyWithinDays * DAY)),
      ),
    );
  let expired = 0;
  for (const row of unverified) {
    try {
      await l.move(row, 'expired', 'system', {}, { note: 'not verified in time' });
      expired++;
    } catch (error) {
      if ((error as { code?: string }).code !== 'HF_DATA_RIGHTS_INVALID_TRANSITION') throw error;
    }
  }
  const due = sql`coalesce(${requests.extendedDueAt}, ${requests.dueAt})`;
  const open = inArray(requests.status, ['open', 'in_progress']);
  const soon = await l.c.db
    .update(requests)
    .set({ dueSoonAlertedAt: at })
    .where(
      and(
        open,
        isNull(requests.dueSoonAlertedAt),
        sql`${due} <= ${ts(new Date(at.getTime() + l.c.dueSoonDays * DAY))}`,
        sql`${due} > ${ts(at)}`,
      ),
    )
    .returning();
  const late = await l.c.db
    .update(requests)
    .set({ overdueAlertedAt: at })
    .where(and(open, isNull(requests.overdueAlertedAt), sql`${due} <= ${ts(at)}`))
    .returning();
  for (const [action, rows] of [
    ['data_rights.request.due_soon', soon],
    ['data_rights.request.overdue', late],
  ] as const) {
    for (const row of rows) {
      await l.event(action, row, { dueAt: effectiveDue(row).toISOString() }, 'failure');
      l.c.log.warn(
        { requestId: row.id, kind: row.kind, dueAt: effectiveDue(row).toISOString(), alert: action },
        `data rights: request ${action === 'data_rights.request.overdue' ? 'overdue' : 'due within days'}`,
      );
      await l.c.onAlert?.({ action, request: await l.view(row) });
    }
  }
  return { dueSoon: soon.length, overdue: late.length, expired };
}
