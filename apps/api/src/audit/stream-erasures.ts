// The deletion records a stream owes: erasure records looked at once applied, naming the events it delivered that they
// erased.
import { eventsAfter } from '@harakaflow/audit';
import { auditEvents, ERASURE_ACTION } from '@harakaflow/audit/internals';
import type { Database } from '@harakaflow/db';
import { and, asc, eq, gte, lte } from 'drizzle-orm';
import { auditStreamSent } from '../data/schema.js';
import type { DeletionRecord } from './stream-format.js';
import { chunks, DELETIONS_PER_POST, ERASURE_WAIT_MS, IDS_PER_RECORD, type AuditStream } from './stream-model.js';

/**
 * The deletion records a stream owes: erasure records after its erasure cursor (older than the
 * settle bound), each once applied, naming the events this stream delivered that it erased.
 * `cursor`: how far the records were looked at; `more`: some are left for the next turn.
 */
export async function owedDeletions(
  db: Database,
  s: AuditStream,
  before: string,
  now: number,
): Promise<{ deletions: DeletionRecord[]; cursor: string; more: boolean }> {
  const deletions: DeletionRecord[] = [];
  let cursor = s.erasureCursor;
  let budget = DELETIONS_PER_POST;
  const records = await eventsAfter(db, { after: s.erasureCursor, before, action: ERASURE_ACTION, limit: 50 });
  for (const r of records) {
    const d = (r.details ?? {}) as { erasureId?: unknown; firstId?: unknown; lastId?: unknown };
    const erasureId = typeof d.erasureId === 'string' ? d.erasureId : null;
    const firstId = typeof d.firstId === 'string' ? d.firstId : null;
    const lastId = typeof d.lastId === 'string' ? d.lastId : null;
    if (erasureId && firstId && lastId) {
      const applied = await erasureApplied(db, firstId, erasureId);
      // Recorded, not yet applied (its transaction runs after the record): wait for it, within reason.
      if (applied === 'pending' && now - r.occurredAt.getTime() < ERASURE_WAIT_MS)
        return { deletions, cursor, more: true };
      if (applied === 'yes') {
        const ids = await erasedDelivered(db, s.id, firstId, lastId, erasureId, budget);
        for (const part of chunks(ids, IDS_PER_RECORD)) deletions.push({ erasureId, ids: part, at: r.occurredAt });
        budget -= ids.length;
        // More of this erasure than a POST carries: the rest next turn (what is announced leaves the log).
        if (budget <= 0) return { deletions, cursor, more: true };
      }
    }
    cursor = r.id;
  }
  // Every record before the settle bound was looked at: the cursor moves up to it.
  return { deletions, cursor: records.length < 50 && before > cursor ? before : cursor, more: records.length === 50 };
}

/** Has the erasure been applied (its first event tagged with it)? */
async function erasureApplied(db: Database, firstId: string, erasureId: string): Promise<'yes' | 'pending' | 'no'> {
  const [row] = await db
    .select({ erasedBy: auditEvents.erasedBy })
    .from(auditEvents)
    .where(eq(auditEvents.id, firstId))
    .limit(1);
  if (!row) return 'no';
  if (row.erasedBy === erasureId) return 'yes';
  return row.erasedBy === null ? 'pending' : 'no';
}

/** The events this stream delivered (with a subject) in [firstId, lastId] that the erasure erased. */
async function erasedDelivered(
  db: Database,
  streamId: string,
  firstId: string,
  lastId: string,
  erasureId: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .select({ id: auditStreamSent.eventId })
    .from(auditStreamSent)
    .innerJoin(auditEvents, and(eq(auditEvents.id, auditStreamSent.eventId), eq(auditEvents.day, auditStreamSent.day)))
    .where(
      and(
        eq(auditStreamSent.streamId, streamId),
        gte(auditStreamSent.eventId, firstId),
        lte(auditStreamSent.eventId, lastId),
        eq(auditEvents.erasedBy, erasureId),
      ),
    )
    .orderBy(asc(auditStreamSent.eventId))
    .limit(limit);
  return rows.map((r) => r.id);
}
