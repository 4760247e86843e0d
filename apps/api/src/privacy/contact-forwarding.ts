// A contact's number proved by its code: the request passed to every account that holds the number, and announced.
import { uuidv7 } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { accounts, contactRequests, forwardedRequests, messageLog } from '../data/schema.js';
import { DAY, type ContactContext } from './contact-context.js';
import { accountData, personData, webhookData } from './contact-forwarded.js';
import { digest } from './contact-proof.js';

/**
 * Proves the number of the request waiting for `phone` with this code, and forwards the request in
 * the same transaction. Returns the request id and how many accounts it went to, or null (no match).
 */
export async function forwardProved(
  ctx: ContactContext,
  phone: string,
  code: string,
): Promise<{ requestId: string; forwarded: number } | null> {
  const now = ctx.now();
  const hash = digest(ctx.o.codeKey, phone, code);
  return ctx.db.transaction(async (tx) => {
    const waiting = and(
      eq(contactRequests.phone, phone),
      isNull(contactRequests.provedAt),
      eq(contactRequests.codeHash, hash),
      sql`${contactRequests.codeExpiresAt} > ${now.toISOString()}::timestamptz`,
    );
    // One request per code: two waiting for the number with the same code (one in a million) prove the older one.
    const [hit] = await tx
      .select({ requestId: contactRequests.requestId })
      .from(contactRequests)
      .where(waiting)
      .orderBy(asc(contactRequests.createdAt))
      .limit(1);
    if (!hit) return null;
    const [proved] = await tx
      .update(contactRequests)
      .set({ provedAt: now, codeHash: null, codeExpiresAt: null })
      .where(and(eq(contactRequests.requestId, hit.requestId), waiting))
      .returning();
    if (!proved) return null;
    // Every account whose data holds the number, not being deleted, once each.
    const holders = await tx
      .selectDistinct({ accountId: messageLog.accountId })
      .from(messageLog)
      .innerJoin(accounts, eq(accounts.id, messageLog.accountId))
      .where(and(eq(messageLog.to, phone), isNull(accounts.deletionPendingAt)));
    const dueAt = new Date(now.getTime() + ctx.o.dueDays * DAY);
    const rows = holders.map((h) => ({
      id: uuidv7(now.getTime()),
      requestId: proved.requestId,
      accountId: h.accountId,
      phone,
      kind: proved.kind,
      status: 'open' as const,
      dueAt,
      createdAt: now,
    }));
    const written = rows.length
      ? await tx.insert(forwardedRequests).values(rows).onConflictDoNothing().returning()
      : [];
    await tx
      .update(contactRequests)
      .set({ forwarded: written.length })
      .where(eq(contactRequests.requestId, proved.requestId));
    // The webhook event with the row: both or neither.
    for (const r of written)
      await ctx.app.webhooks.emit(r.accountId, 'privacy.request.forwarded', webhookData(r), {
        db: tx as unknown as Database,
      });
    return { requestId: proved.requestId, forwarded: written.length };
  });
}

/**
 * Queues what a forwarding says and has not said yet: each account's email, the person's count. Exactly once each
 * (dedupe keys).
 */
export async function announce(ctx: ContactContext, requestId: string): Promise<void> {
  const pending = await ctx.db
    .select()
    .from(forwardedRequests)
    .where(and(eq(forwardedRequests.requestId, requestId), isNull(forwardedRequests.accountToldAt)));
  for (const r of pending) {
    await ctx.app.notify.enqueue({
      kind: 'privacy.request.forwarded',
      accountId: r.accountId,
      data: accountData(r),
      dedupeKey: `privacy.request.forwarded:${r.id}`,
    });
    await ctx.db.update(forwardedRequests).set({ accountToldAt: ctx.now() }).where(eq(forwardedRequests.id, r.id));
  }
  const [contact] = await ctx.db
    .select()
    .from(contactRequests)
    .where(
      and(
        eq(contactRequests.requestId, requestId),
        isNotNull(contactRequests.provedAt),
        isNull(contactRequests.toldAt),
      ),
    );
  if (contact) {
    await ctx.app.notify.enqueue({
      kind: 'privacy.contact.forwarded',
      to: contact.address,
      lang: contact.lang,
      data: personData(contact, ctx.o.dueDays),
      dedupeKey: `privacy.contact.forwarded:${requestId}`,
    });
    await ctx.db.update(contactRequests).set({ toldAt: ctx.now() }).where(eq(contactRequests.requestId, requestId));
  }
}
