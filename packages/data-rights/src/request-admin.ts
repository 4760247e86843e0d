/**
 * A request read, and the steps the administrator (or the requester's code) takes on it: verified, classified,
 * extended.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { AlreadyExtended, InvalidRequest, InvalidTransition, RequestNotFound } from './errors.js';
import { appendHistory, DAY, type Ledger } from './ledger.js';
import { startRequest } from './request-start.js';
import { requests } from './schema.js';
import { REQUEST_KINDS, type FilingKind, type RightsRequest } from './types.js';

/**
 * A request, or HF_DATA_RIGHTS_NOT_FOUND; `accountId` limits it to that account's own (404
 * otherwise) and only then shows a live export's link: the admin's view (no `accountId`) never does.
 */
export async function getRequest(l: Ledger, id: string, accountId?: string): Promise<RightsRequest> {
  const row = await l.row(id);
  if (!row || (accountId !== undefined && row.accountId !== accountId)) throw new RequestNotFound();
  return l.view(row, undefined, accountId !== undefined);
}

/**
 * An administrator records how an emailed request's requester was verified (`self`: the requester entered the emailed
 * code); the request starts.
 */
export async function verifyRequest(
  l: Ledger,
  id: string,
  verification: string,
  by: 'admin' | 'self' = 'admin',
): Promise<RightsRequest> {
  const row = await l.row(id);
  if (!row) throw new RequestNotFound();
  if (typeof verification !== 'string' || !verification.trim() || verification.length > 500)
    throw new InvalidRequest('verification says how the requester was verified');
  if (row.status !== 'open' || row.verification !== null) throw new InvalidTransition(row.status, 'in_progress');
  const at = l.now();
  const [verified] = await l.c.db
    .update(requests)
    .set({
      verification,
      history: appendHistory({ status: row.status, at: at.toISOString(), by, event: 'verified' }),
      updatedAt: at,
    })
    .where(and(eq(requests.id, row.id), isNull(requests.verification)))
    .returning();
  if (!verified) throw new InvalidTransition(row.status, 'in_progress');
  const started = await startRequest(l, verified);
  // A kind the admin carries out (an objection, a correction) stays open: the requester is still
  // told it is being worked on (issue 30 item 9); the others were told by their move.
  if (started === verified) await l.notify(started);
  return l.view(started);
}

/**
 * The admin gives an `unclassified` request (one read from the privacy mailbox) its kind: history
 * `classified`, audited; a request already verified then starts as that kind does.
 */
export async function classifyKind(l: Ledger, id: string, kind: FilingKind): Promise<RightsRequest> {
  const row = await l.row(id);
  if (!row) throw new RequestNotFound();
  if (!(REQUEST_KINDS as readonly string[]).includes(kind))
    throw new InvalidRequest(`kind must be one of ${REQUEST_KINDS.join(', ')}`);
  if (row.kind !== 'unclassified' || row.status !== 'open')
    throw new InvalidTransition(`${row.status} (${row.kind})`, kind);
  const at = l.now();
  const [classified] = await l.c.db
    .update(requests)
    .set({
      kind,
      history: appendHistory({ status: 'open', at: at.toISOString(), by: 'admin', event: 'classified', note: kind }),
      updatedAt: at,
    })
    .where(and(eq(requests.id, row.id), eq(requests.kind, 'unclassified'), eq(requests.status, 'open')))
    .returning();
  if (!classified) throw new InvalidTransition(`${row.status} (${row.kind})`, kind);
  await l.event('data_rights.request.classified', classified, { kind });
  return l.view(classified.verification === null ? classified : await startRequest(l, classified));
}

/** The one extension (at most 60 days, with a reason): the notice goes to the requester. */
export async function extendRequest(l: Ledger, id: string, days: number, reason: string): Promise<RightsRequest> {
  const row = await l.row(id);
  if (!row) throw new RequestNotFound();
  if (!Number.isInteger(days) || days < 1 || days > 60) throw new InvalidRequest('an extension is 1 to 60 days');
  if (typeof reason !== 'string' || !reason.trim() || reason.length > 2000)
    throw new InvalidRequest('an extension gives its reason');
  if (row.status !== 'open' && row.status !== 'in_progress') throw new InvalidTransition(row.status, row.status);
  const extendedDueAt = new Date(row.dueAt.getTime() + days * DAY);
  const at = l.now();
  const [moved] = await l.c.db
    .update(requests)
    .set({
      extendedDueAt,
      extensionReason: reason,
      history: appendHistory({
        status: row.status,
        at: at.toISOString(),
        by: 'admin',
        event: 'extended',
        note: reason,
      }),
      updatedAt: at,
    })
    .where(and(eq(requests.id, row.id), isNull(requests.extendedDueAt)))
    .returning();
  if (!moved) throw new AlreadyExtended();
  await l.event('data_rights.request.extended', moved, { days });
  await l.notify(moved);
  return l.view(moved);
}
