/**
 * The bounce mailbox (issue 34 item 4): an email counts as sent when the relay accepts it, but most
 * bounces arrive later, by email. `NOTIFY_BOUNCE_IMAP_URL` names the mailbox that receives them
 * (what comes back to `NOTIFY_FROM`'s address, and the feedback loops' abuse reports); one replica
 * at a time reads it, and each message goes to notify's `processBounceMessage` (idempotent by the
 * report's Message-ID): a DSN or an abuse report about a message sent here marks the address and
 * records how the message went; a legal notice that did not arrive is then shown to the account
 * (`GET /v1/me`'s `notices`, the privacy centre) until it acknowledges it.
 *
 * The reading itself is notify's MailboxReader (the privacy mailbox's, issue 32: a lease row per
 * mailbox, each message once by UID), through mailbox-reading.ts.
 */
import type { Database } from '@harakaflow/db';
import type { MailboxReader } from '@harakaflow/notify';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { readMailbox } from './mailbox-reading.js';

/** One message as the mailbox reader hands it over (notify's `MailboxMessage`). */
export interface BounceMessage {
  /** The raw RFC 822 message (its start, when `truncated`). */
  source: Buffer;
  /** When the server received it (IMAP INTERNALDATE): the time the outcome is recorded at. */
  receivedAt?: Date | undefined;
  truncated?: boolean | undefined;
}

export interface BounceIntakeOptions {
  db: Database;
  /** NOTIFY_BOUNCE_IMAP_URL; unset: no mailbox is read. */
  url: string | undefined;
  /** Seconds between rounds (PRIVACY_IMAP_POLL_SECONDS, as for the privacy mailbox). */
  pollSeconds: number;
}

/** Hands one message of the bounce mailbox to notify, and logs what it was (never an address: ids, codes, outcome). */
export async function takeBounce(app: Pick<FastifyInstance, 'notify' | 'log'>, message: BounceMessage): Promise<void> {
  const result = await app.notify.processBounceMessage(message.source, { receivedAt: message.receivedAt });
  app.log.info(
    {
      status: result.status,
      report: result.type ?? null,
      outcome: result.outcome ?? null,
      notification: result.notificationId ?? null,
      matchedBy: result.matchedBy ?? null,
      reason: result.reason ?? null,
      truncated: message.truncated === true,
    },
    'bounce mailbox: message read',
  );
}

const bounceIntake: FastifyPluginAsync<BounceIntakeOptions> = async (app, o) => {
  if (!o.url) return;
  app.decorate(
    'bounceMailbox',
    readMailbox(app, {
      db: o.db,
      url: o.url,
      urlName: 'NOTIFY_BOUNCE_IMAP_URL',
      name: 'bounces',
      label: 'bounce mailbox',
      pollSeconds: o.pollSeconds,
      onMessage: (message) => takeBounce(app, message),
    }),
  );
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The bounce mailbox's reader, when NOTIFY_BOUNCE_IMAP_URL is set (`round()` reads it now). */
    bounceMailbox?: MailboxReader;
  }
}

export default fp(bounceIntake, { name: 'bounce-intake', dependencies: ['@harakaflow/notify'] });
