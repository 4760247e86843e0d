/**
 * What the app tells people, through @harakaflow/notify: who an account's messages go to (and
 * whether that address is verified), who the policy notices go to, what a rights request's change
 * says to the account and to the address it came from, the job that asks accounts made before email
 * verification to verify, the notice of a disabled webhook endpoint, and the bridge that sends the
 * rows an earlier version left in `app.notifications`.
 */
import type { Receipt, RightsRequest } from '@harakaflow/data-rights';
import { isFinal } from '@harakaflow/data-rights/internals';
import type { Database } from '@harakaflow/db';
import type { AccountNotice, Recipient } from '@harakaflow/notify';
import type { DisabledEndpoint } from '@harakaflow/webhooks';
import { and, asc, eq, gt, inArray, isNotNull, isNull } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { errorCodes } from '@harakaflow/core';
import { accountsToAsk, askForVerification, emailVerified } from '../data/accounts.js';
import { languageOfTag } from '../languages/languages.js';
import { queueVerification } from '../routes/accounts/accounts.js';
import { accounts, notifications } from '../data/schema.js';
import { utcMinute } from '../data/dates.js';
import { everyInterval } from '../wiring/jobs.js';

/** An account's address and names, for its messages; null when it no longer exists. */
export async function notificationRecipient(db: Database, accountId: string): Promise<Recipient | null> {
  const [row] = await db
    .select({ address: accounts.email, name: accounts.name, businessName: accounts.businessName })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return row ?? null;
}

/** Is `address` the account's address, and verified (issue 30 item 6)? Asked by notify at send time. */
export async function addressVerified(db: Database, accountId: string, address: string): Promise<boolean> {
  const [row] = await db
    .select({ email: accounts.email, verifiedEmail: accounts.verifiedEmail })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  return !!row && emailVerified(row) && row.email.toLowerCase() === address.toLowerCase();
}

/** §11: every account with an email, not being deleted, 500 at a time in id order. */
export async function policyRecipients(
  db: Database,
  after: string | null,
): Promise<({ accountId: string } & Recipient)[]> {
  return db
    .select({
      accountId: accounts.id,
      address: accounts.email,
      name: accounts.name,
      businessName: accounts.businessName,
    })
    .from(accounts)
    .where(and(isNull(accounts.deletionPendingAt), after === null ? undefined : gt(accounts.id, after)))
    .orderBy(asc(accounts.id))
    .limit(500);
}

/** A receipt's parts as notify writes its summary, each in the message's language (`receiptParts`). */
export function receiptParts(receipt: Pick<Receipt, 'handlers'>): Record<string, unknown>[] {
  return receipt.handlers.map((h) => ({
    part: h.name,
    erased: h.erased,
    kept: h.kept,
    ...(h.keptReason ? { keptReason: h.keptReason } : {}),
  }));
}

/**
 * A request's change as `privacy.request.updated` data: due date, reason, the receipt (its parts,
 * each written by notify in the message's language, and the signed JSON). No English words: a
 * reason is the one an admin gave (or the system's note), and a restriction the account lifted
 * itself says so by `liftedBy`, not by a note.
 */
function updateData(request: RightsRequest, keysUrl: string): Record<string, unknown> {
  const last = request.history.at(-1);
  const reason =
    last?.event === 'extended'
      ? request.extensionReason
      : last?.event === 'lifted' && last.by === 'self'
        ? undefined
        : last?.note;
  const receipt = request.receipt && {
    receiptParts: receiptParts(request.receipt),
    // The summary as replicas of the previous version show it (English; this version writes it from the parts).
    receipt: request.receipt.handlers
      .map((h) => `${h.name}: ${h.erased} erased${h.kept ? `, ${h.kept} kept (${h.keptReason ?? 'kept by law'})` : ''}`)
      .join('; '),
    // The receipt as signed (issue 30 item 8): checked with the published keys alone.
    receiptJson: JSON.stringify(request.receipt),
    keysUrl,
  };
  return {
    requestId: request.id,
    kind: request.kind,
    status: request.status,
    event: last?.event ?? null,
    verified: request.verification !== null,
    dueDate: utcMinute(request.extendedDueAt ?? request.dueAt),
    ...(reason ? { reason } : {}),
    ...(last?.event === 'lifted' ? { liftedBy: last.by } : {}),
    ...receipt,
  };
}

/**
 * The message a request's latest change sends: the account's deletion, scheduled, says when and
 * how to cancel; any other change is a `privacy.request.updated` (received with its due date,
 * extended with the reason, fulfilled with the link or the receipt, denied with the reason). One per
 * change (the dedupe key counts the history); null for a change that says nothing new.
 */
export function requestNotice(
  request: RightsRequest,
  keysUrl: string,
): { kind: string; data: Record<string, unknown>; dedupeKey: string; lang: string | null } | null {
  const last = request.history.at(-1);
  const accountDeletion = request.kind === 'deletion' && request.subject.kind === 'account';
  // Work starting says nothing new to the account that filed it (the receipt of the request did);
  // an account's deletion is told once, with its purge date, not also as received.
  // (An account's deletion read from the privacy mailbox, not verified yet, is told as received:
  // that message carries the code that confirms it, issue 32.)
  if (
    (request.status === 'in_progress' && !(accountDeletion && last?.event === 'purge-scheduled')) ||
    (accountDeletion && request.status === 'open' && request.verification !== null)
  )
    return null;
  if (accountDeletion && last?.event === 'purge-scheduled') {
    const purgeAt = /purge at (\S+)/.exec(last.note ?? '')?.[1] ?? request.dueAt;
    return {
      kind: 'account.deletion.scheduled',
      data: {
        requestId: request.id,
        purgeDate: utcMinute(purgeAt),
        cancelPath: `/v1/privacy/requests/${request.id}/cancel`,
      },
      dedupeKey: `account.deletion.scheduled:${request.id}`,
      lang: languageOfTag(request.lang),
    };
  }
  return {
    kind: 'privacy.request.updated',
    data: updateData(request, keysUrl),
    dedupeKey: `privacy.request.updated:${request.id}:${request.history.length}`,
    lang: languageOfTag(request.lang),
  };
}

/**
 * Issue 34 item 3: a disabled webhook endpoint is told to its account (`webhook.endpoint_disabled`),
 * with what happened, how many deliveries wait and how to send them. The endpoint is named by its
 * id and its URL's origin only: a path or query may carry the receiver's token, and the outbox
 * keeps the data 30 days. One message per disabling (the key is the endpoint and the time).
 */
export function endpointDisabledNotice(e: DisabledEndpoint): {
  kind: string;
  accountId: string;
  data: Record<string, unknown>;
  dedupeKey: string;
} {
  const base = `/v1/webhooks/endpoints/${e.id}`;
  return {
    kind: 'webhook.endpoint_disabled',
    accountId: e.accountId,
    data: {
      endpointId: e.id,
      endpointOrigin: new URL(e.url).origin,
      // Why, as notify's texts say it in each language; `reason`, in English, for replicas of the previous version.
      cause: e.reason === 'gone' ? 'gone' : 'failing',
      ...(e.failingSince ? { failingSince: utcMinute(e.failingSince) } : {}),
      reason:
        e.reason === 'gone'
          ? 'it answered 410 Gone, which asks for no more deliveries'
          : `every delivery attempt failed since ${e.failingSince ? utcMinute(e.failingSince) : 'several days'}`,
      disabledAt: utcMinute(e.disabledAt),
      held: e.held,
      enablePath: `${base}/enable`,
      deliveriesPath: `${base}/deliveries`,
      recoverPath: `${base}/recover`,
    },
    dedupeKey: `webhook.endpoint_disabled:${e.id}:${e.disabledAt.getTime()}`,
  };
}

/**
 * The message to the address a request came from (issue 30 item 9), at every step: received (and
 * that we must confirm it is theirs, when it is not verified yet), in progress, extended with the
 * reason, fulfilled with the link or the signed receipt, denied with the reason, canceled, expired.
 * Its last one is deleted from the outbox once sent (the address kept for it alone).
 */
export function requesterNotice(
  request: RightsRequest,
  keysUrl: string,
): { kind: string; data: Record<string, unknown>; dedupeKey: string; eraseAfterSend: boolean; lang: string | null } {
  return {
    kind: 'privacy.request.updated',
    data: updateData(request, keysUrl),
    dedupeKey: `privacy.request.updated:${request.id}:${request.history.length}:requester`,
    eraseAfterSend: isFinal(request.status),
    lang: languageOfTag(request.lang),
  };
}

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

/** Accounts whose notices one replica remembers at most (the oldest forgotten first), like the auth cache's keys. */
const NOTICE_ENTRIES = 10_000;
const NO_NOTICES: readonly AccountNotice[] = Object.freeze([]);

/**
 * Issue 34 item 4: the notices `GET /v1/me` carries (legal notices that bounced or drew a
 * complaint, until acknowledged), read at most once per `ttlMs` per account on a replica
 * (AUTH_CACHE_MS: the hot path reads memory, as it does for the key). A notice recorded on another
 * replica appears within that time; one acknowledged here is forgotten here at once. The first read
 * that returns a notice records it as shown (the account's export says so).
 */
export function noticeCache(app: Pick<FastifyInstance, 'notify' | 'log'>, ttlMs: number) {
  const entries = new Map<string, { until: number; notices: readonly AccountNotice[] }>();
  return {
    /** The notices remembered for the account, or undefined (then `load`). */
    peek(accountId: string): readonly AccountNotice[] | undefined {
      const hit = entries.get(accountId);
      return hit && hit.until > Date.now() ? hit.notices : undefined;
    },
    async load(accountId: string): Promise<readonly AccountNotice[]> {
      // GET /v1/me answers without them rather than 500 when they cannot be read (e.g. before the
      // app role is granted notify.deliveries): logged, and read again at the next request.
      const read = await app.notify.notices(accountId, { markShown: true }).catch((error: unknown) => {
        app.log.error(
          { err: errorCodes(error) },
          "notices: the account's notices could not be read; answered without them",
        );
        return null;
      });
      if (read === null) return NO_NOTICES;
      const notices = read.length ? Object.freeze(read.map((n) => Object.freeze(n))) : NO_NOTICES;
      if (ttlMs > 0) {
        entries.delete(accountId);
        if (entries.size >= NOTICE_ENTRIES) entries.delete(entries.keys().next().value!);
        entries.set(accountId, { until: Date.now() + ttlMs, notices });
      }
      return notices;
    },
    invalidate(accountId: string): void {
      entries.delete(accountId);
    },
  };
}
