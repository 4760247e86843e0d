// The notices' background jobs: accounts made before email verification asked to verify, and legacy `app.notifications`
// rows handed to notify.
import { errorCodes } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { and, asc, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { accountsToAsk, askForVerification } from '../data/email-verification.js';
import { utcMinute } from '../data/dates.js';
import { notifications } from '../data/schema.js';
import { queueVerification } from '../routes/accounts/accounts.js';
import { everyInterval } from '../wiring/jobs.js';

/**
 * Issue 30 item 6: accounts made before email verification (or by a replica of that version during
 * a rolling deploy) are asked once, by email, to verify their address; `GET /v1/me` asks too. At
 * startup and hourly, 500 at a time; once per account across replicas (the asking is recorded, the
 * message's key is the account and that time).
 */
export function askExistingAccountsToVerify(app: FastifyInstance, db: Database, intervalMs = 3_600_000): void {
  const run = async () => {
    for (;;) {
      const page = await accountsToAsk(db);
      for (const account of page) {
        const asked = await askForVerification(db, account, new Date());
        if ('requestedAt' in asked) await queueVerification(app, account.id, asked.requestedAt);
      }
      if (page.length < 500) return;
    }
  };
  const tick = () =>
    run().catch((error: unknown) =>
      app.log.error({ err: errorCodes(error) }, 'notify: asking accounts to verify their address failed'),
    );
  everyInterval(app, intervalMs, tick, { atStartup: true });
}

/**
 * Rolling deploy: replicas of the earlier version write quota warnings and request updates into
 * `app.notifications`, which nothing sent. Every minute (and at startup) this replica hands those
 * rows to notify, exactly once (a dedupe key per row, across replicas), and marks them `sent_at`.
 */
export function bridgeLegacyNotifications(app: FastifyInstance, db: Database, intervalMs = 60_000): void {
  const run = async () => {
    const rows = await db
      .select()
      .from(notifications)
      .where(
        and(
          isNull(notifications.sentAt),
          isNotNull(notifications.accountId),
          inArray(notifications.kind, ['quota.warning', 'privacy.request.updated']),
        ),
      )
      .orderBy(asc(notifications.createdAt))
      .limit(500);
    for (const row of rows) {
      const p = row.payload as Record<string, unknown>;
      const data =
        row.kind === 'quota.warning'
          ? { ...p, percent: Math.round(Number(p.threshold) * 100) }
          : {
              requestId: p.requestId,
              kind: p.kind,
              status: p.status,
              event: null,
              dueDate: typeof p.dueAt === 'string' ? utcMinute(p.dueAt) : 'soon',
            };
      await app.notify.enqueue({
        kind: row.kind,
        accountId: row.accountId!,
        data,
        dedupeKey: `app.notifications:${row.id}`,
      });
    }
    if (rows.length)
      await db
        .update(notifications)
        .set({ sentAt: new Date() })
        .where(
          inArray(
            notifications.id,
            rows.map((r) => r.id),
          ),
        );
    return rows.length;
  };
  const tick = () =>
    run().then(
      () => undefined,
      (error: unknown) =>
        app.log.error({ err: errorCodes(error) }, 'notify: handing app.notifications rows to notify failed'),
    );
  everyInterval(app, intervalMs, tick, { atStartup: true });
}
