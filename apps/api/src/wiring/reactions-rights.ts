/**
 * The app's reactions to data rights (§6): a deletion pending, a request that changes, an update for
 * the address a request came from, a deadline's alert; and the vault places data rights keeps its
 * export keys and a request's evidence in. Each a named function taking what it needs; the wiring
 * table (plugins.ts) hands them to the plugin.
 */
import { errorCodes, retentionClasses } from '@harakaflow/core';
import type { DataRightsOptions, EvidenceStore, ExportKeyStore, RightsRequest } from '@harakaflow/data-rights';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/config.js';
import { accountExists, planOfAccount } from '../data/accounts.js';
import { accounts, notifications } from '../data/schema.js';
import { revokeAccountSessions } from '../data/sessions.js';
import { article15Builder } from '../privacy/article15.js';
import { addressVerified, notificationRecipient, requestNotice, requesterNotice } from '../privacy/notices.js';
import { SUBPROCESSORS } from '../privacy/subprocessors.js';
import { keysUrl, type Db } from './context.js';

type Alert = Parameters<NonNullable<DataRightsOptions['onAlert']>>[0];

const exportPlace = (name: string) => ({
  namespace: 'data-rights',
  accountId: 'data-rights',
  sessionId: 'exports',
  name,
});
/** Where a request's received messages are sealed (issue 32): data-rights' vault namespace, a session per request. */
const EVIDENCE = { namespace: 'data-rights', accountId: 'data-rights' } as const;
const evidencePlace = (requestId: string, name: string) => ({ ...EVIDENCE, sessionId: `request:${requestId}`, name });

/** Export keys, kept in the vault. */
export function exportKeyStore(app: FastifyInstance): ExportKeyStore {
  return {
    put: async (name, value) => void (await app.vault.put(exportPlace(name), value)),
    get: async (name) => (await app.vault.get(exportPlace(name)))?.value ?? null,
    delete: async (name) => void (await app.vault.delete(exportPlace(name))),
  };
}

/** The messages read from the privacy mailbox, sealed in the vault under their request. */
export function evidenceStore(app: FastifyInstance): EvidenceStore {
  return {
    put: async (requestId, name, value) => void (await app.vault.put(evidencePlace(requestId, name), value)),
    get: async (requestId, name) => (await app.vault.get(evidencePlace(requestId, name)))?.value ?? null,
    deleteAll: (requestId) => app.vault.deleteSession(EVIDENCE.accountId, `request:${requestId}`, EVIDENCE.namespace),
  };
}

/** An account's deletion requested (or canceled): marked, signed out, its key forgotten, its webhooks paused. */
export async function markDeletionPending(app: FastifyInstance, db: Db, accountId: string, pending: boolean) {
  await db
    .update(accounts)
    .set({ deletionPendingAt: pending ? new Date() : null })
    .where(eq(accounts.id, accountId));
  // Requesting deletion signs the person out of the privacy centre everywhere.
  if (pending) await revokeAccountSessions(db, accountId);
  app.authCache.invalidate(accountId);
  await app.webhooks.pauseAccount(accountId, pending);
}

/** A request changed: the account's key forgotten, a forwarded erasure settled, the account told. */
export async function tellRequestUpdate(
  app: FastifyInstance,
  db: Db,
  config: AppConfig,
  request: RightsRequest,
  accountId: string,
): Promise<void> {
  // A request's outcome may change what the account's key may do (erased, restored): forget it here.
  app.authCache.invalidate(accountId);
  // A contact's erasure that answers a forwarded request (issue 32 item 3): its receipt goes to the person.
  // Its own failure is logged, never in the way of the account's notices below (the minute's sweep settles it).
  if (request.kind === 'deletion' && request.subject.kind === 'contact') {
    await app.contactRequests
      .erasureDone(request)
      .catch((error: unknown) =>
        app.log.error(
          { err: errorCodes(error), requestId: request.id },
          'privacy: a forwarded erasure could not be settled; the sweep retries',
        ),
      );
  }
  const payload = {
    requestId: request.id,
    kind: request.kind,
    status: request.status,
    dueAt: request.extendedDueAt ?? request.dueAt,
  };
  // The requester's own account is told of every change (issue 14 item 6), unless it is gone:
  // by email (§6) and webhook.
  if (!(await accountExists(db, accountId))) return;
  const notice = requestNotice(request, keysUrl(config));
  const sent = notice ? await app.notify.enqueue({ ...notice, accountId }) : null;
  // A reply to it joins the request's thread in the privacy mailbox (issue 32).
  if (sent) await app.dataRights.intake.recordSent(request.id, app.notify.messageId(sent));
  await app.webhooks.emit(accountId, 'privacy.request.updated', payload);
}

/**
 * Issue 30 items 8 and 9: the address a request came from is told of every step; an account's own
 * address is captured at its deletion, for the receipt once the account is gone. Only a verified
 * address (issue 30 item 6, review): a signup with someone else's address must not have that
 * person sent the deletion's receipt.
 */
export async function verifiedAddressOf(db: Db, accountId: string): Promise<string | null> {
  const recipient = await notificationRecipient(db, accountId);
  return recipient && (await addressVerified(db, accountId, recipient.address)) ? recipient.address : null;
}

/**
 * A step of a request told to the address it came from; while the account exists and that is its address, the account's
 * notices are the ones.
 */
export async function tellRequester(
  app: FastifyInstance,
  db: Db,
  config: AppConfig,
  request: RightsRequest,
  address: string,
): Promise<void> {
  if (
    'accountId' in request.subject &&
    (await notificationRecipient(db, request.subject.accountId))?.address.toLowerCase() === address.toLowerCase()
  )
    return;
  const sent = await app.notify.enqueue({ ...requesterNotice(request, keysUrl(config)), to: address });
  if (sent) await app.dataRights.intake.recordSent(request.id, app.notify.messageId(sent));
}

/** A deadline's alert: an operator notification (no account). */
export async function recordOperatorAlert(db: Db, { action, request }: Alert): Promise<void> {
  await db.insert(notifications).values({
    id: randomUUID(),
    accountId: null,
    kind: action,
    payload: { requestId: request.id, kind: request.kind, dueAt: request.extendedDueAt ?? request.dueAt },
  });
}

/**
 * Issue 32 item 5: every export's Article 15 statement, from the policy's catalogues, the retention
 * registry and the processor register (article15.ts).
 */
export function article15Of(app: FastifyInstance, db: Db, config: AppConfig) {
  return article15Builder({
    controller: 'HarakaFlow',
    privacyContact: config.privacyContact,
    publicUrl: config.publicUrl,
    register: config.subprocessors ?? SUBPROCESSORS,
    retentionClasses: () => retentionClasses(app),
    planOf: (accountId) => planOfAccount(db, accountId),
  });
}
