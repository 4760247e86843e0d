/**
 * Restriction of processing (policy §6) and its end (issue 30 item 10). A fulfilled `restriction`
 * request puts the account in `data_rights.restrictions`; lifting it (the account itself, or an
 * administrator with a reason) removes the flag, marks every fulfilled restriction request of the
 * account `lifted` in its history (status stays `fulfilled`: the request was carried out, and
 * statuses are a public contract), and is audited (`data_rights.restriction.lifted`) and notified
 * like any change of a request. Internal: reached through `DataRights`.
 */
import { and, eq, or, sql } from 'drizzle-orm';
import { InvalidRequest, InvalidTransition } from './errors.js';
import { appendHistory, type Ledger, type Row } from './ledger.js';
import { requests, restrictions } from './schema.js';
import type { Actor } from './types.js';

/** A restriction request whose history says it was lifted. */
export const LIFTED = sql`${requests.history} @> '[{"event":"lifted"}]'::jsonb`;

export function isLifted(row: Row): boolean {
  return row.history.some((h) => h.event === 'lifted');
}

/**
 * Lifts the restriction `row` put in force: one transaction marks the request (and any other
 * fulfilled, unlifted restriction request of the account) and removes the flag; a request not in
 * force (not a restriction, not fulfilled, already lifted) is refused, and a concurrent lift of the
 * same request finds it already lifted (409).
 */
export async function liftRestriction(
  l: Ledger,
  row: Row,
  by: Exclude<Actor, 'system'>,
  reason: string | undefined,
): Promise<Row> {
  if (row.kind !== 'restriction') throw new InvalidRequest('only a restriction request can be lifted');
  if (by === 'admin' && (typeof reason !== 'string' || !reason.trim() || reason.length > 2000))
    throw new InvalidRequest('an administrator lifting a restriction gives the reason');
  if (row.status !== 'fulfilled' || !row.accountId || isLifted(row))
    throw new InvalidTransition(isLifted(row) ? 'fulfilled (lifted)' : row.status, 'lifted');
  const accountId = row.accountId;
  const at = l.now();
  const note = by === 'admin' ? reason!.trim() : 'lifted at the account holder’s request';
  const lifted = await l.c.db.transaction(async (tx) => {
    const marked = await tx
      .update(requests)
      .set({
        history: appendHistory({ status: 'fulfilled', at: at.toISOString(), by, event: 'lifted', note }),
        updatedAt: at,
      })
      .where(
        and(
          or(eq(requests.id, row.id), and(eq(requests.accountId, accountId), eq(requests.kind, 'restriction'))),
          eq(requests.status, 'fulfilled'),
          sql`not ${LIFTED}`,
        ),
      )
      .returning();
    const mine = marked.find((r) => r.id === row.id);
    // Lifted meanwhile by another call: nothing of this transaction stays.
    if (!mine) throw new InvalidTransition('fulfilled (lifted)', 'lifted');
    await tx.delete(restrictions).where(eq(restrictions.accountId, accountId));
    return mine;
  });
  await l.event('data_rights.restriction.lifted', lifted, { by, ...(by === 'admin' ? { reason: note } : {}) });
  await l.notify(lifted);
  return lifted;
}
