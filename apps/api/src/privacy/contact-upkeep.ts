// The minute's jobs of contacts' requests: what a crash left half-done, and the deadline alerts of open forwarded
// requests.
import { errorCodes, securityEvent, uuidv7 } from '@harakaflow/core';
import { and, asc, eq, inArray, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { contactRequests, forwardedRequests, notifications } from '../data/schema.js';
import { everyInterval } from '../wiring/jobs.js';
import { erase, erasureDone, tellOutcome } from './contact-answers.js';
import { DAY, type ContactContext } from './contact-context.js';
import { announce } from './contact-forwarding.js';

/**
 * What a crash left half-done, a minute on: forwardings not announced, outcomes not told, an
 * erasure not filed (filed again: data-rights answers an open deletion of the same contact with
 * itself) or finished without its update reaching here. Returns rows handled.
 */
export async function sweep(ctx: ContactContext): Promise<number> {
  const before = new Date(ctx.now().getTime() - 60_000);
  let handled = 0;
  const unannounced = await ctx.db
    .selectDistinct({ requestId: contactRequests.requestId })
    .from(contactRequests)
    .leftJoin(forwardedRequests, eq(forwardedRequests.requestId, contactRequests.requestId))
    .where(
      and(
        lt(contactRequests.provedAt, before),
        or(
          isNull(contactRequests.toldAt),
          and(isNotNull(forwardedRequests.id), isNull(forwardedRequests.accountToldAt)),
        ),
      ),
    )
    .limit(50);
  for (const { requestId } of unannounced) {
    await each(ctx, requestId, () => announce(ctx, requestId));
    handled++;
  }
  const untold = await ctx.db
    .select()
    .from(forwardedRequests)
    .where(
      and(
        inArray(forwardedRequests.status, ['fulfilled', 'denied', 'erased']),
        isNull(forwardedRequests.personToldAt),
        lt(forwardedRequests.answeredAt, before),
      ),
    )
    .limit(50);
  for (const row of untold) {
    await each(ctx, row.id, () => tellOutcome(ctx, row));
    handled++;
  }
  const erasing = await ctx.db
    .select()
    .from(forwardedRequests)
    .where(and(eq(forwardedRequests.status, 'erasing'), lt(forwardedRequests.answeredAt, before)))
    .orderBy(asc(forwardedRequests.answeredAt))
    .limit(50);
  for (const row of erasing) {
    // One row's failure is logged and the others still run.
    await each(ctx, row.id, async () => {
      const request = row.erasureRequestId
        ? await ctx.app.dataRights.get(row.erasureRequestId).catch(() => null)
        : null;
      // Never filed (a crash between the answer and the filing): filed now, under the id chosen with the answer.
      if (!request) await erase(ctx, row);
      else await erasureDone(ctx, request);
    });
    handled++;
  }
  return handled;
}

async function each(ctx: ContactContext, id: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    ctx.app.log.error(
      { err: errorCodes(error), id },
      'privacy: a forwarded request could not be settled; retried in a minute',
    );
  }
}

/**
 * The deadline alerts of open forwarded requests (issue 32 item 3: "like any other"), each raised
 * once across replicas: the row is marked in the statement that finds it.
 */
export async function checkDeadlines(ctx: ContactContext): Promise<{ dueSoon: number; overdue: number }> {
  const at = ctx.now();
  const open = inArray(forwardedRequests.status, ['open', 'erasing']);
  const soon = await ctx.db
    .update(forwardedRequests)
    .set({ dueSoonAlertedAt: at })
    .where(
      and(
        open,
        isNull(forwardedRequests.dueSoonAlertedAt),
        lte(forwardedRequests.dueAt, new Date(at.getTime() + ctx.o.dueSoonDays * DAY)),
        sql`${forwardedRequests.dueAt} > ${at.toISOString()}::timestamptz`,
      ),
    )
    .returning();
  const late = await ctx.db
    .update(forwardedRequests)
    .set({ overdueAlertedAt: at })
    .where(and(open, isNull(forwardedRequests.overdueAlertedAt), lte(forwardedRequests.dueAt, at)))
    .returning();
  for (const [kind, rows] of [
    ['privacy.forwarded.due_soon', soon],
    ['privacy.forwarded.overdue', late],
  ] as const) {
    for (const r of rows) {
      // An operator notification (no account), as data-rights' alerts are.
      await ctx.db.insert(notifications).values({
        id: uuidv7(at.getTime()),
        accountId: null,
        kind,
        payload: {
          forwardedId: r.id,
          requestId: r.requestId,
          accountId: r.accountId,
          kind: r.kind,
          dueAt: r.dueAt.toISOString(),
        },
      });
      await securityEvent(ctx.app, undefined, {
        action: kind,
        resource: `forwarded-request:${r.id}`,
        outcome: 'failure',
        details: { accountId: r.accountId, dueAt: r.dueAt.toISOString() },
      });
      ctx.app.log.warn(
        { forwardedId: r.id, requestId: r.requestId, kind: r.kind, dueAt: r.dueAt.toISOString(), alert: kind },
        `privacy: forwarded request ${kind.endsWith('overdue') ? 'overdue' : 'due within days'}`,
      );
    }
  }
  return { dueSoon: soon.length, overdue: late.length };
}

/** The minute's jobs: announcements and outcomes a crash left, and the deadline alerts. */
export function runContactJobs(app: FastifyInstance, intervalMs = 60_000): void {
  everyInterval(
    app,
    intervalMs,
    async () => {
      // Each on its own: a failing sweep never keeps the deadline alerts from running.
      for (const [job, run] of [
        ['sweep', () => app.contactRequests.sweep()],
        ['deadlines', () => app.contactRequests.checkDeadlines()],
      ] as const) {
        try {
          await run();
        } catch (error) {
          app.log.error({ err: errorCodes(error), job }, 'privacy: the forwarded requests job failed');
        }
      }
    },
    { atStartup: false },
  );
}
