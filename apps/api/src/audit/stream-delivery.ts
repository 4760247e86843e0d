// Audit streams' delivery: due streams claimed under a lease, each sent its page (deletion records, then events),
// cursors moved on a 2xx.
import { eventsAfter, uuidv7Floor } from '@harakaflow/audit';
import { errorCodes, securityEvent } from '@harakaflow/core';
import { retryDelay } from '@harakaflow/db/internals';
import { send, signWebhook } from '@harakaflow/webhooks';
import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { auditStreams, auditStreamSent } from '../data/schema.js';
import { OPERATOR_ONLY_ACTIONS } from '../routes/audit/audit.js';
import { owedDeletions } from './stream-erasures.js';
import { ndjson } from './stream-format.js';
import {
  chunks,
  ENDING_GRACE_MS,
  ENDING_MAX_MS,
  forgetStream,
  hostOf,
  LEASE_MS,
  place,
  SEND_TIMEOUT_MS,
  STREAM_PAGE,
  STREAM_RETRY_MS,
  type AuditStream,
  type StreamContext,
} from './stream-model.js';

/**
 * An ending stream's last step: the row, its delivered-id log and its secret go (audited, under no subject: the account
 * is erased).
 */
async function endStream(ctx: StreamContext, s: AuditStream): Promise<number> {
  await ctx.db.delete(auditStreams).where(eq(auditStreams.id, s.id));
  await forgetStream(ctx, s.id);
  await securityEvent(ctx.app, undefined, {
    action: 'audit.stream.deleted',
    resource: `audit-stream:${s.id}`,
    outcome: 'success',
    details: { streamId: s.id, reason: 'account-erased' },
  });
  return 0;
}

/**
 * Sends what is due: claims due streams a few at a time and sends each one page (deletion
 * records first, then up to STREAM_PAGE events). A stream whose page was full is due again at
 * once. Returns how many events were delivered. `settleMs`: tests (0 with `audit.flush()` first).
 */
export async function deliverDue(ctx: StreamContext, o: { settleMs?: number; limit?: number } = {}): Promise<number> {
  let delivered = 0;
  for (;;) {
    const now = new Date();
    const due = ctx.db
      .select({ id: auditStreams.id })
      .from(auditStreams)
      .where(lte(auditStreams.nextAttemptAt, now))
      .orderBy(asc(auditStreams.nextAttemptAt))
      .limit(o.limit ?? 10)
      .for('update', { skipLocked: true });
    const claimed = await ctx.db
      .update(auditStreams)
      .set({ attempts: sql`${auditStreams.attempts} + 1`, nextAttemptAt: new Date(now.getTime() + LEASE_MS) })
      .where(inArray(auditStreams.id, due))
      .returning();
    if (!claimed.length) return delivered;
    for (const mine of claimed) {
      // The streams are run one after another (each up to a 15 s POST): by its turn a stream's
      // lease may have run out and another turn taken it. Leased anew, only if still ours, and
      // read anew (its cursors as they are now, not as claimed): else it is not ours to send.
      const [stream] = await ctx.db
        .update(auditStreams)
        .set({ nextAttemptAt: new Date(Date.now() + LEASE_MS) })
        .where(and(eq(auditStreams.id, mine.id), eq(auditStreams.nextAttemptAt, mine.nextAttemptAt)))
        .returning();
      if (!stream) continue;
      try {
        delivered += await runStream(ctx, stream, o.settleMs ?? ctx.o.settleMs ?? 15_000);
      } catch (error) {
        // The lease runs out and the stream is due again; never the URL, the secret or a driver's message.
        ctx.app.log.error(
          { err: errorCodes(error), streamId: stream.id },
          'audit streams: a stream could not be sent; it is tried again',
        );
      }
    }
  }
}

/** One stream's turn: returns the events delivered. */
async function runStream(ctx: StreamContext, s: AuditStream, settleMs: number): Promise<number> {
  const now = Date.now();
  // An erased account's stream that could not be told within a week (its receiver keeps failing) goes all the same.
  if (s.status === 'ending' && s.endingAt && now - s.endingAt.getTime() > ENDING_MAX_MS) return endStream(ctx, s);
  const before = uuidv7Floor(now - settleMs);
  // The stream's cursors are written only while this turn holds it (the lease it took).
  const held = and(eq(auditStreams.id, s.id), eq(auditStreams.nextAttemptAt, s.nextAttemptAt));
  const erasures = await owedDeletions(ctx.db, s, before, now);
  const events =
    s.status === 'active'
      ? await eventsAfter(ctx.db, {
          after: s.cursor,
          before,
          limit: STREAM_PAGE,
          ...(s.accountId === null ? {} : { subjectId: s.accountId, exceptActions: OPERATOR_ONLY_ACTIONS }),
        })
      : [];
  const idle = ctx.o.intervalSeconds > 0 ? ctx.o.intervalSeconds * 1000 : 5_000;
  if (!erasures.deletions.length && !events.length) {
    // Every erasure record up to a while after the account's erasure was looked at: nothing more is owed.
    if (
      s.status === 'ending' &&
      s.endingAt &&
      erasures.cursor >= uuidv7Floor(s.endingAt.getTime() + ENDING_GRACE_MS) &&
      !erasures.more
    )
      return endStream(ctx, s);
    await ctx.db
      .update(auditStreams)
      .set({ attempts: 0, erasureCursor: erasures.cursor, nextAttemptAt: new Date(now + idle) })
      .where(held);
    return 0;
  }
  const secret = (await ctx.app.vault.get(place(s.id)))?.value.toString('utf8');
  if (!secret)
    throw Object.assign(new Error('audit stream secret missing'), { code: 'HF_AUDIT_STREAM_SECRET_MISSING' });
  const body = ndjson(s.format, erasures.deletions, events);
  // The same page sent again is the same message id (receivers de-duplicate); a page read
  // anew with other content (an erasure in between) is another message.
  const messageId = `audit_${createHash('sha256').update(`${s.id}\n`).update(body).digest('base64url').slice(0, 32)}`;
  const headers = signWebhook({ id: messageId, timestamp: new Date(now), payload: body, secrets: secret });
  // The delivered-id log is written before the POST, not after: an erasure looked at while the
  // POST is in flight (by another turn) finds what this one is sending. An id logged for a POST
  // that fails is at worst named by a deletion record the receiver has nothing for.
  const sent = events.filter((e) => e.subjectId !== null).map((e) => ({ streamId: s.id, eventId: e.id, day: e.day }));
  for (const part of chunks(sent, 1000)) await ctx.db.insert(auditStreamSent).values(part).onConflictDoNothing();
  const result = await send(s.url, headers, body, ctx.o.policy, SEND_TIMEOUT_MS, 'application/x-ndjson');
  const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  if (!ok) {
    const delay = retryDelay(Math.min(s.attempts, STREAM_RETRY_MS.length), STREAM_RETRY_MS) ?? STREAM_RETRY_MS.at(-1)!;
    await ctx.db
      .update(auditStreams)
      .set({
        nextAttemptAt: new Date(now + delay),
        lastAttemptAt: new Date(now),
        lastErrorStatus: result.statusCode,
        lastErrorCode: result.error,
        failingSince: sql`coalesce(${auditStreams.failingSince}, now())`,
      })
      .where(held);
    await securityEvent(ctx.app, undefined, {
      action: 'audit.stream.delivery_failed',
      resource: `audit-stream:${s.id}`,
      outcome: 'failure',
      details: {
        streamId: s.id,
        host: hostOf(s.url),
        status: result.statusCode,
        error: result.error,
        attempts: s.attempts,
        events: events.length,
      },
      ...(s.accountId === null ? {} : { subjectId: s.accountId }),
    });
    return 0;
  }
  const last = events.at(-1);
  const announced = erasures.deletions.flatMap((d) => d.ids);
  const full = events.length === STREAM_PAGE || erasures.more;
  await ctx.db.transaction(async (tx) => {
    const moved = await tx
      .update(auditStreams)
      .set({
        cursor: last?.id ?? s.cursor,
        erasureCursor: erasures.cursor,
        attempts: 0,
        nextAttemptAt: new Date(now + (full ? 0 : idle)),
        delivered: sql`${auditStreams.delivered} + ${events.length}`,
        lastDeliveryAt: new Date(now),
        lastAttemptAt: new Date(now),
        failingSince: null,
      })
      .where(held)
      .returning({ id: auditStreams.id });
    // Another turn holds the stream now (its cursors are its own): this page is sent again at worst.
    if (!moved.length) return;
    for (const part of chunks(announced, 1000))
      await tx
        .delete(auditStreamSent)
        .where(and(eq(auditStreamSent.streamId, s.id), inArray(auditStreamSent.eventId, part)));
  });
  return events.length;
}
