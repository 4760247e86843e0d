// An account's answer to a forwarded request (fulfil, deny, erase), the contact's erasure, and the outcome told to the
// person.
import { securityEvent, uuidv7 } from '@harakaflow/core';
import type { RightsRequest } from '@harakaflow/data-rights';
import { and, eq } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import { accounts, contactRequests, forwardedRequests } from '../data/schema.js';
import type { ContactContext } from './contact-context.js';
import { ERASABLE_KINDS, outcomeData, type Forwarded } from './contact-forwarded.js';

export type Answer =
  | { action: 'fulfil'; note?: string | undefined; disclose?: boolean | undefined }
  | { action: 'deny'; reason: string; disclose?: boolean | undefined }
  | { action: 'erase'; disclose?: boolean | undefined };

export async function getForwarded(ctx: ContactContext, accountId: string, id: string): Promise<Forwarded | null> {
  const [row] = await ctx.db
    .select()
    .from(forwardedRequests)
    .where(and(eq(forwardedRequests.id, id), eq(forwardedRequests.accountId, accountId)));
  return row ?? null;
}

/**
 * The account's answer to an open forwarded request: `missing` (not this account's), `answered`
 * (answered before), `not-erasable` (erase on a kind it would defeat), else the row as it now is.
 * A fulfilment or a denial is told to the person at once; an erasure once its receipt exists.
 */
export async function answer(
  ctx: ContactContext,
  accountId: string,
  id: string,
  a: Answer,
  request?: FastifyRequest,
): Promise<Forwarded | 'missing' | 'answered' | 'not-erasable'> {
  const row = await getForwarded(ctx, accountId, id);
  if (!row) return 'missing';
  if (row.status !== 'open') return 'answered';
  if (a.action === 'erase' && !ERASABLE_KINDS.includes(row.kind)) return 'not-erasable';
  const now = ctx.now();
  const status = a.action === 'fulfil' ? 'fulfilled' : a.action === 'deny' ? 'denied' : 'erasing';
  const note = a.action === 'fulfil' ? a.note?.trim() || null : a.action === 'deny' ? a.reason.trim() : null;
  // The erasure's id is chosen with the answer: a retry (the sweep, after a crash) files that same request.
  const erasureRequestId = status === 'erasing' ? uuidv7(now.getTime()) : null;
  const [moved] = await ctx.db
    .update(forwardedRequests)
    .set({ status, answeredAt: now, note, disclose: a.disclose === true, erasureRequestId })
    .where(
      and(
        eq(forwardedRequests.id, id),
        eq(forwardedRequests.accountId, accountId),
        eq(forwardedRequests.status, 'open'),
      ),
    )
    .returning();
  if (!moved) return 'answered';
  await securityEvent(ctx.app, request, {
    action: `privacy.forwarded.${status === 'erasing' ? 'erase' : a.action}`,
    resource: `forwarded-request:${id}`,
    outcome: 'success',
    durability: 'sync',
  });
  if (status === 'erasing') return erase(ctx, moved);
  await tellOutcome(ctx, moved);
  return moved;
}

/** Files the contact's deletion from the account's data (data-rights: erased now, a signed receipt). */
export async function erase(ctx: ContactContext, row: Forwarded): Promise<Forwarded> {
  const filed = await ctx.app.dataRights.file({
    id: row.erasureRequestId ?? undefined,
    kind: 'deletion',
    subject: { kind: 'contact', accountId: row.accountId, phone: row.phone },
    filedBy: 'self',
    verification: `the number proved by a WhatsApp message from it; forwarded request ${row.id}`,
    details: `forwarded request ${row.id}: the account chose to have the contact erased`,
  });
  // An open deletion of the same contact answers for this one (data-rights files it once).
  const linked =
    filed.id === row.erasureRequestId
      ? row
      : ((
          await ctx.db
            .update(forwardedRequests)
            .set({ erasureRequestId: filed.id })
            .where(eq(forwardedRequests.id, row.id))
            .returning()
        )[0] ?? row);
  // Done already (a purge that ran at once, or the request this one joined): settled here.
  return (await erasureDone(ctx, filed)) ?? linked;
}

/**
 * A contact's deletion ended (data-rights' update): the forwarded request it answers is erased,
 * its receipt told to the person; one canceled or denied (by the admin, or the account's own
 * cancel before the purge) puts the forwarded request back to `open`, for the account to answer again.
 */
export async function erasureDone(ctx: ContactContext, request: RightsRequest): Promise<Forwarded | null> {
  if (request.kind !== 'deletion') return null;
  if (request.status === 'canceled' || request.status === 'denied' || request.status === 'expired') {
    const [reopened] = await ctx.db
      .update(forwardedRequests)
      .set({ status: 'open', answeredAt: null, erasureRequestId: null, disclose: false })
      .where(and(eq(forwardedRequests.erasureRequestId, request.id), eq(forwardedRequests.status, 'erasing')))
      .returning();
    return reopened ?? null;
  }
  if (request.status !== 'fulfilled' || !request.receipt) return null;
  const [row] = await ctx.db
    .update(forwardedRequests)
    .set({ status: 'erased', receipt: request.receipt as unknown as Record<string, unknown> })
    .where(and(eq(forwardedRequests.erasureRequestId, request.id), eq(forwardedRequests.status, 'erasing')))
    .returning();
  if (row) await tellOutcome(ctx, row);
  return row ?? null;
}

export async function tellOutcome(ctx: ContactContext, row: Forwarded): Promise<void> {
  const [contact] = await ctx.db.select().from(contactRequests).where(eq(contactRequests.requestId, row.requestId));
  if (contact) {
    const business = row.disclose ? (await businessName(ctx, row.accountId)) || null : null;
    await ctx.app.notify.enqueue({
      kind: 'privacy.contact.outcome',
      to: contact.address,
      lang: contact.lang,
      data: outcomeData(row, contact, business, ctx.o.keysUrl),
      dedupeKey: `privacy.contact.outcome:${row.id}`,
    });
  }
  await ctx.db.update(forwardedRequests).set({ personToldAt: ctx.now() }).where(eq(forwardedRequests.id, row.id));
}

async function businessName(ctx: ContactContext, accountId: string): Promise<string> {
  const [a] = await ctx.db
    .select({ name: accounts.name, businessName: accounts.businessName })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  // The business name the account gave, never a person's name; none given: not named.
  return a?.businessName?.trim() || '';
}
