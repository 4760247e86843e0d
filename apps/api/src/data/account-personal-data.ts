// The app's own personal-data handlers: the account row with its keys' metadata and notifications, and the message log.
import type { PersonalDataHandler, SubjectRef } from '@harakaflow/core';
import { resultRows, type Database } from '@harakaflow/db';
import { and, asc, eq, gt, or, sql } from 'drizzle-orm';
import { publicAccount } from './public-account.js';
import { accounts, apiKeys, messageLog, notifications } from './schema.js';

/** The app's own personal data: the account row, its API keys' metadata (never the key digests), its notifications. */
export function appPersonalData(db: Database): PersonalDataHandler {
  return {
    name: 'app',
    identifiers: ['account'],
    withheld: 'API key digests: keys are listed by prefix and dates only',
    async exportSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      const [account] = await db.select().from(accounts).where(eq(accounts.id, subjectId));
      const sent = await db
        .select({
          kind: notifications.kind,
          payload: notifications.payload,
          createdAt: notifications.createdAt,
          sentAt: notifications.sentAt,
        })
        .from(notifications)
        .where(eq(notifications.accountId, subjectId));
      if (!account) return { account: null, apiKeys: [], notifications: sent };
      const keys = await db
        .select({
          prefix: apiKeys.prefix,
          createdAt: apiKeys.createdAt,
          revokedAt: apiKeys.revokedAt,
          lastUsedAt: apiKeys.lastUsedAt,
        })
        .from(apiKeys)
        .where(eq(apiKeys.accountId, subjectId));
      return {
        account: { ...publicAccount(account), plan: account.plan, emailVerifiedAt: account.emailVerifiedAt },
        apiKeys: keys,
        notifications: sent,
      };
    },
    async eraseSubject(ref) {
      const subjectId = (ref as { accountId: string }).accountId;
      // API keys go with the account (ON DELETE CASCADE).
      const sent = await db
        .delete(notifications)
        .where(eq(notifications.accountId, subjectId))
        .returning({ id: notifications.id });
      const deleted = await db.delete(accounts).where(eq(accounts.id, subjectId)).returning({ id: accounts.id });
      return { erased: deleted.length + sent.length };
    },
  };
}

// Small pages keep the export's live set young (see subjectEvents in @harakaflow/audit).
const MESSAGE_PAGE = 250;

/**
 * The message log (who sent what to whom, never the text), for an account or for one of its
 * contacts: a contact's request reaches only the rows of that account that name that number.
 * Exported page by page on the (account_id, created_at) index.
 */
export function messageLogPersonalData(db: Database): PersonalDataHandler {
  const scope = (ref: SubjectRef) =>
    ref.kind === 'contact'
      ? and(eq(messageLog.accountId, ref.accountId), eq(messageLog.to, ref.phone))
      : eq(messageLog.accountId, (ref as { accountId: string }).accountId);
  return {
    name: 'messages',
    identifiers: ['account', 'contact'],
    // A legal hold on the subject for this class keeps these rows through an erasure (issue 30 item 2).
    retentionClasses: ['message_logs'],
    async *exportSubject(ref) {
      // The cursor keeps created_at at the database's microsecond precision (a JS Date has ms: the
      // last row of a page would come again on the next one).
      let after: { at: string; id: string } | undefined;
      for (;;) {
        const page = await db
          .select({
            id: messageLog.id,
            sessionId: messageLog.sessionId,
            to: messageLog.to,
            chars: messageLog.chars,
            createdAt: messageLog.createdAt,
            at: sql<string>`${messageLog.createdAt}::text`,
          })
          .from(messageLog)
          // `created_at >= last` first, so each page is a range scan of the (account_id, created_at)
          // index from where the last one stopped, not a scan from the start.
          .where(
            after
              ? and(
                  scope(ref),
                  sql`${messageLog.createdAt} >= ${after.at}::timestamptz`,
                  or(sql`${messageLog.createdAt} > ${after.at}::timestamptz`, gt(messageLog.id, after.id)),
                )
              : scope(ref),
          )
          .orderBy(asc(messageLog.createdAt), asc(messageLog.id))
          .limit(MESSAGE_PAGE);
        for (const { at: _at, ...row } of page) yield { ...row, createdAt: row.createdAt.toISOString() };
        if (page.length < MESSAGE_PAGE) return;
        const last = page.at(-1)!;
        after = { at: last.at, id: last.id };
      }
    },
    async eraseSubject(ref) {
      // Counted in the database: 100,000 rows are not sent back to be counted here.
      const [row] = resultRows<{ n: number }>(
        await db.execute(
          sql`with gone as (delete from ${messageLog} where ${scope(ref)} returning 1) select count(*)::int as n from gone`,
        ),
      );
      return { erased: Number(row?.n ?? 0) };
    },
  };
}
