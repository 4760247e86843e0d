/**
 * The privacy mailbox (issue 32 item 1): the policy's one channel for rights ("contact us at
 * privacy@harakaflow.io", §6, §8, §12), read over IMAP (`PRIVACY_IMAP_URL`) by notify's
 * MailboxReader, one replica at a time. Each new message opens a request through data-rights'
 * intake (a reply in a request's thread joins it), its sender told that it was received, with the
 * code that confirms it and the due date; nothing goes back to a machine's message, nor past
 * SENDER_ANSWERS_PER_DAY answers to one address a day (the request is opened all the same).
 */
import type { Database } from '@harakaflow/db';
import { readInbound, type MailboxMessage, type MailboxReader } from '@harakaflow/notify';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { readMailbox } from './mailbox-reading.js';
import { utcMinute } from '../data/dates.js';

/**
 * Answers (the 'received' message with its code) one sender address gets a day, at most: a forged sender cannot turn
 * the mailbox into a mail cannon.
 */
export const SENDER_ANSWERS_PER_DAY = 3;
const SENDER_LIMIT = { name: 'rights.intake.sender', points: SENDER_ANSWERS_PER_DAY, duration: 86_400 };

export interface RightsIntakeOptions {
  db: Database;
  /** PRIVACY_IMAP_URL; unset: no mailbox is read. */
  url: string | undefined;
  /** Seconds between rounds. */
  pollSeconds: number;
}

/** Why nobody may be answered from this address now (its answers for the day are used), or null. */
async function senderAnswers(app: FastifyInstance, address: string): Promise<string | null> {
  try {
    const taken = await app.quota.take(SENDER_LIMIT, `rights-intake:${address}`);
    return taken.allowed ? null : `the sender's ${SENDER_ANSWERS_PER_DAY} answers of the day were used`;
  } catch {
    // The quota store out of reach: no answer rather than an unbounded one (the request is still opened).
    return 'the quota store could not count the answer';
  }
}

/** The page where a request made without a key is confirmed (a new code asked for there). */
export const requestPage = (publicUrl: string, id: string) => `${publicUrl}/privacy/request/${id}`;

/**
 * notify's `enrich` for the codes of requests made without an API key (issue 32), made as their
 * message is sent so the outbox never holds one: the form's `privacy.request.code` (false when
 * nothing waits for a code any more: suppressed), and the 'received' message of a request read
 * from the mailbox (its code, when it takes one). undefined: not such a message.
 */
export async function requestCodeData(
  app: FastifyInstance,
  publicUrl: string,
  kind: string,
  data: Record<string, unknown>,
): Promise<Record<string, unknown> | false | null | undefined> {
  const id = data.requestId;
  if (typeof id !== 'string') return undefined;
  if (kind === 'privacy.request.code') {
    const issued = await app.dataRights.intake.issueCode(id);
    return issued
      ? {
          code: issued.code,
          kind: issued.kind,
          expiresAt: utcMinute(issued.expiresAt),
          verifyUrl: requestPage(publicUrl, id),
        }
      : false;
  }
  if (
    kind === 'privacy.request.updated' &&
    data.status === 'open' &&
    data.verified === false &&
    data.event !== 'extended'
  ) {
    const issued = await app.dataRights.intake.issueCode(id);
    return issued
      ? { code: issued.code, codeExpiresAt: utcMinute(issued.expiresAt), verifyUrl: requestPage(publicUrl, id) }
      : null;
  }
  return undefined;
}

/**
 * Queues a request's code message to `address`, in `lang` (the request's; null: English); a reply to it joins the
 * request's thread.
 */
export async function sendRequestCode(
  app: FastifyInstance,
  id: string,
  address: string,
  lang: string | null,
): Promise<void> {
  const sent = await app.notify.enqueue({
    kind: 'privacy.request.code',
    to: address,
    data: { requestId: id },
    dedupeKey: `privacy.request.code:${id}:${Date.now()}`,
    lang,
  });
  if (sent) await app.dataRights.intake.recordSent(id, app.notify.messageId(sent));
}

/** Hands one mailbox message to data-rights' intake (idempotent on its key). */
export async function takeMessage(app: FastifyInstance, message: MailboxMessage): Promise<void> {
  const read = await readInbound(message.source);
  const outcome = await app.dataRights.intake.receive(
    {
      source: message.key,
      messageId: read.messageId,
      thread: read.thread,
      receivedAt: message.receivedAt,
      size: message.size,
      raw: message.source,
      from: read.from,
      subject: read.subject,
      text: read.text,
      automatic: read.automatic,
    },
    (address) => senderAnswers(app, address),
  );
  // Never the sender or the subject: the request id and what was done.
  app.log.info(
    {
      requestId: outcome.requestId,
      outcome: outcome.outcome,
      answered: outcome.unanswered === null,
      truncated: message.truncated,
    },
    'privacy mailbox: message taken',
  );
}

const rightsIntake: FastifyPluginAsync<RightsIntakeOptions> = async (app, o) => {
  if (!o.url) return;
  app.decorate(
    'privacyMailbox',
    readMailbox(app, {
      db: o.db,
      url: o.url,
      urlName: 'PRIVACY_IMAP_URL',
      name: 'privacy',
      label: 'privacy mailbox',
      pollSeconds: o.pollSeconds,
      onMessage: (message) => takeMessage(app, message),
    }),
  );
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The privacy mailbox's reader, when PRIVACY_IMAP_URL is set (`round()` reads it now). */
    privacyMailbox?: MailboxReader;
  }
}

export default fp(rightsIntake, { name: 'rights-intake' });
