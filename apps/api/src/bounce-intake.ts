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
 * mailbox, each message once by UID): `reader` makes it, in the wiring.
 */
import { errorCodes } from '@harakaflow/core';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

/** One message as the mailbox reader hands it over (notify's `MailboxMessage`). */
export interface BounceMessage {
  /** The raw RFC 822 message (its start, when `truncated`). */
  source: Buffer;
  /** When the server received it (IMAP INTERNALDATE): the time the outcome is recorded at. */
  receivedAt?: Date | undefined;
  truncated?: boolean | undefined;
}

/** What reads the mailbox: started when the app is ready, stopped when it closes. */
export interface MailboxReading {
  /** `user@host:port/mailbox`, never the password: for the startup line. */
  readonly label: string;
  start(): void;
  stop(): Promise<void>;
}

export interface BounceIntakeOptions {
  /** NOTIFY_BOUNCE_IMAP_URL; unset: no mailbox is read. */
  url: string | undefined;
  /** Makes the reader of the mailbox at `url`, handing each message to `onMessage` (which throws only when the database does: the message comes again). */
  reader?: ((o: { url: string; onMessage: (message: BounceMessage) => Promise<void> }) => MailboxReading) | undefined;
}

/** Hands one message of the bounce mailbox to notify, and logs what it was (never an address: ids, codes, outcome). */
export async function takeBounce(app: Pick<FastifyInstance, 'notify' | 'log'>, message: BounceMessage): Promise<void> {
  const result = await app.notify.processBounceMessage(message.source, { receivedAt: message.receivedAt });
  app.log.info(
    { status: result.status, report: result.type ?? null, outcome: result.outcome ?? null, notification: result.notificationId ?? null, matchedBy: result.matchedBy ?? null, reason: result.reason ?? null, truncated: message.truncated === true },
    'bounce mailbox: message read',
  );
}

const bounceIntake: FastifyPluginAsync<BounceIntakeOptions> = async (app, o) => {
  if (!o.url) return;
  // Configured but unreadable: startup stops rather than silently dropping every bounce.
  if (!o.reader) throw Object.assign(new Error('NOTIFY_BOUNCE_IMAP_URL is set, but no mailbox reader is wired to read it (see bounce-intake.ts)'), { code: 'HF_CONFIG_INVALID' });
  const reader = o.reader({ url: o.url, onMessage: (message) => takeBounce(app, message) });
  app.addHook('onReady', async () => {
    app.log.info({ mailbox: reader.label }, 'bounce mailbox: read over IMAP, one replica at a time');
    reader.start();
  });
  app.addHook('onClose', async () => {
    await reader.stop().catch((error: unknown) => app.log.error({ err: errorCodes(error) }, 'bounce mailbox: stopping failed'));
  });
};

export default fp(bounceIntake, { name: 'bounce-intake', dependencies: ['@harakaflow/notify'] });
