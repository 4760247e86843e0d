/**
 * A mailbox the app reads over IMAP (the privacy mailbox, issue 32; the bounce mailbox, issue 34):
 * notify's MailboxReader, one replica at a time (a lease row per mailbox), each message once by
 * UID, started when the app is ready and stopped when it closes. Its label never names the password.
 */
import { errorCodes } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { MailboxReader, type MailboxMessage } from '@harakaflow/notify';
import type { FastifyInstance } from 'fastify';

export interface MailboxReading {
  db: Database;
  url: string;
  /** The variable that named it (messages say it, never the URL). */
  urlName: string;
  /** The lease and mark's name (`privacy`, `bounces`). */
  name: string;
  /** What the log lines call it (`privacy mailbox`). */
  label: string;
  pollSeconds: number;
  onMessage: (message: MailboxMessage) => Promise<void>;
}

export function readMailbox(app: FastifyInstance, o: MailboxReading): MailboxReader {
  const reader = new MailboxReader({
    db: o.db,
    url: o.url,
    urlName: o.urlName,
    name: o.name,
    intervalMs: o.pollSeconds * 1000,
    log: app.log,
    onMessage: o.onMessage,
  });
  app.addHook('onReady', async () => {
    app.log.info({ mailbox: reader.label }, `${o.label}: read over IMAP, one replica at a time`);
    reader.start();
  });
  app.addHook('onClose', async () => {
    await reader
      .stop()
      .catch((error: unknown) => app.log.error({ err: errorCodes(error) }, `${o.label}: stopping failed`));
  });
  return reader;
}
