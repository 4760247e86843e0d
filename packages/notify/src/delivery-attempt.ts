/**
 * One attempt at one claimed notification (the dispatcher's step): suppressed (no address, a
 * bouncing one, turned off), held for a verified address, or rendered and sent, the attempt
 * recorded, then settled, retried with backoff, or failed with its address marked bouncing.
 */
import { errorCodes } from '@harakaflow/core';
import { retryDelay } from '@harakaflow/db/internals';
import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { eraseDeliveries, forgetReports, recordSend } from './deliveries.js';
import { KINDS, unverifiedWaitMs } from './kinds.js';
import { isEnabled } from './preferences.js';
import { addresses, attempts, outbox } from './schema.js';
import { normalizeAddress, WAITING_FOR_VERIFICATION } from './subject-data.js';
import { NO_BUSINESS_NAME, NO_NAME } from './template-types.js';
import { render } from './templates.js';
import type { SendOutcome } from './transport.js';
import type { NotificationStatus, NotifierConfig } from './types.js';
import { unsubscribeUrl } from './unsubscribe-links.js';

/** What an older version wrote as the reason when it settled a message of a kind it did not know. */
export const UNKNOWN_KIND = 'unknown kind';

type Row = typeof outbox.$inferSelect;

/** What an attempt needs of its Notifier. */
export interface AttemptContext {
  c: NotifierConfig;
  schedule: readonly number[];
  now(): Date;
  /** `<id@domain>`: the same on every retry. */
  messageId(id: string): string;
}

export async function attemptDelivery(
  x: AttemptContext,
  row: Row,
  marked: Map<string, 'bouncing' | 'complained'>,
): Promise<void> {
  const spec = KINDS[row.kind];
  const started = Date.now();
  // A bouncing or complaining address gets no more optional messages; security and legal ones are
  // still tried (a legal notice that bounces again is shown to the account instead).
  const mark = row.address ? marked.get(normalizeAddress(row.address)) : undefined;
  const suppressed = !row.address
    ? 'no address'
    : !spec
      ? UNKNOWN_KIND
      : spec.category === 'optional' && mark
        ? mark === 'complained'
          ? 'the address complained'
          : 'the address is bouncing'
        : spec.category === 'optional' && row.accountId && !(await isEnabled(x.c.db, row.accountId, row.kind))
          ? 'turned off by the account'
          : null;
  if (suppressed) return settle(x, row, { status: 'suppressed', lastError: suppressed });
  // Issue 30 item 6: an address nobody has shown to be theirs gets no text the account wrote.
  const verified = !row.accountId || !x.c.addressVerified || (await x.c.addressVerified(row.accountId, row.address!));
  if (!verified) {
    const waitMs = unverifiedWaitMs(spec!);
    if (waitMs !== null) {
      const until = row.createdAt.getTime() + waitMs;
      // Its subject erased meanwhile: the address will never be verified; it goes now (the row with it).
      if (row.eraseAfterSend || until <= x.now().getTime())
        return settle(x, row, { status: 'suppressed', lastError: 'the address was not verified' });
      // Not an attempt: the claim's count is given back, and the row sleeps until its wait ends (releaseWaiting wakes
      // it).
      await x.c.db
        .update(outbox)
        .set({ nextAttemptAt: new Date(until), attempts: row.attempts - 1, lastError: WAITING_FOR_VERIFICATION })
        .where(eq(outbox.id, row.id));
      return;
    }
  }
  let outcome: SendOutcome;
  let subject: string | null = null;
  try {
    const extra = await x.c.enrich?.({ kind: row.kind, accountId: row.accountId, data: row.data });
    if (extra === false) return settle(x, row, { status: 'suppressed', lastError: 'nothing to send any more' });
    const headers: Record<string, string> = {};
    let data = { ...row.data, ...extra };
    if (!verified) data = { ...data, name: NO_NAME, businessName: NO_BUSINESS_NAME };
    if (spec!.category === 'optional' && row.accountId) {
      const url = unsubscribeUrl(x.c, x.now(), row.accountId, row.kind);
      headers['List-Unsubscribe'] = `<${url}>`;
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
      data = { ...data, unsubscribeUrl: url };
    }
    const rendered = render(
      row.kind,
      x.c.privacyContact ? { ...data, privacyContact: x.c.privacyContact } : data,
      row.lang,
    );
    subject = rendered.subject;
    outcome = await x.c.transport.send({
      id: row.id,
      from: x.c.from,
      to: row.address!,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      // RFC 3834: every message here is sent by a machine, so auto-responders do not answer it
      // (an answer to a forged privacy request cannot start a loop of automatic mail, issue 32).
      // The kind, and the outbox id: a report that returns the message's headers names it even
      // when a relay replaced the Message-ID (issue 34 item 4).
      // Content-Language (RFC 3282): the language the message is written in (issue 32 item 7).
      headers: {
        ...headers,
        'Auto-Submitted': 'auto-generated',
        'Content-Language': rendered.lang,
        'X-HarakaFlow-Notification': row.kind,
        'X-HarakaFlow-Notification-Id': row.id,
      },
      messageId: x.messageId(row.id),
      ...(x.c.replyTo ? { replyTo: x.c.replyTo } : {}),
    });
  } catch (error) {
    // A template without its data, or enrich failing: retried like a temporary failure, then failed.
    const code = (error as { code?: unknown }).code;
    outcome = {
      outcome: 'temporary',
      smtpCode: null,
      error: typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'HF_NOTIFY_RENDER_FAILED',
    };
  }
  const at = x.now();
  await x.c.db.insert(attempts).values({
    id: randomUUID(),
    notificationId: row.id,
    attemptedAt: at,
    outcome: outcome.outcome,
    smtpCode: outcome.smtpCode,
    error: outcome.outcome === 'sent' ? null : outcome.error,
    durationMs: Date.now() - started,
  });
  // What the relay said, for the message's record (and a legal notice refused: shown to the account).
  // Never allowed to fail the send after the relay took it: a row left pending would be sent again
  // every lease (e.g. while the app role has no grant on notify.deliveries yet, or a database
  // blip: security review of issue 34, M2). A record not written is logged, and only that is lost.
  if (subject !== null && outcome.outcome !== 'temporary') {
    await recordSend(x.c.db, row, subject, at, {
      accepted: outcome.outcome === 'sent',
      smtpCode: outcome.smtpCode,
    }).catch((error: unknown) =>
      x.c.log.error(
        { err: errorCodes(error), notification: row.id, kind: row.kind },
        'notify: the delivery record was not written; the message went',
      ),
    );
  }
  if (outcome.outcome === 'sent')
    return settle(x, row, { status: 'sent', providerMessageId: outcome.providerMessageId, lastError: null });
  if (outcome.outcome === 'permanent') {
    await x.c.db
      .insert(addresses)
      .values({ address: normalizeAddress(row.address!), status: 'bouncing', smtpCode: outcome.smtpCode, since: at })
      .onConflictDoUpdate({ target: addresses.address, set: { smtpCode: outcome.smtpCode, since: at } });
    x.c.log.warn(
      { notification: row.id, kind: row.kind, smtpCode: outcome.smtpCode },
      'notify: the server refused the address for good; it is marked bouncing',
    );
    return settle(x, row, { status: 'failed', lastError: outcome.error });
  }
  const delay = retryDelay(row.attempts, x.schedule);
  if (delay === null) return settle(x, row, { status: 'failed', lastError: outcome.error });
  await x.c.db
    .update(outbox)
    .set({ nextAttemptAt: new Date(at.getTime() + delay), lastError: outcome.error })
    .where(eq(outbox.id, row.id));
}

/** A final state; a notice kept past its subject's erasure is deleted once settled. */
export async function settle(
  x: AttemptContext,
  row: Row,
  set: { status: NotificationStatus; lastError: string | null; providerMessageId?: string | null },
): Promise<void> {
  // The flag is read back, not taken from the claimed copy: the subject may have been erased
  // while this message was being sent (and the row itself deleted, when it was not kept).
  const [after] = await x.c.db
    .update(outbox)
    .set({ ...set, settledAt: x.now() })
    .where(eq(outbox.id, row.id))
    .returning({ erase: outbox.eraseAfterSend });
  if (after && !after.erase) return;
  await x.c.db.delete(attempts).where(eq(attempts.notificationId, row.id));
  await eraseDeliveries(x.c.db, null, [row.id]);
  await forgetReports(x.c.db, [row.id]);
  if (!after) return;
  await x.c.db.delete(outbox).where(eq(outbox.id, row.id));
  await x.c.transport.forget?.([row.id]);
}
