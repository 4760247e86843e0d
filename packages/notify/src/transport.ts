/**
 * Where messages go: SMTP through nodemailer (`smtp://` or `smtps://`, credentials in the URL and
 * never logged), or, without SMTP, `.eml` files in a folder a newcomer can open. Both build the
 * message with nodemailer (the same MIME either way); sending is classified for the dispatcher:
 * `sent`, `temporary` (SMTP 4xx, connection errors, authentication: retried with backoff) or
 * `permanent` (SMTP 5xx: the address is marked bouncing).
 */
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

export interface OutgoingMessage {
  /** The notification id: the file name, and the local part of the Message-ID. */
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Extra headers (List-Unsubscribe...). */
  headers: Record<string, string>;
  messageId: string;
  /** Reply-To: where an answer goes (the privacy mailbox). */
  replyTo?: string | undefined;
}

export type SendOutcome =
  | { outcome: 'sent'; providerMessageId: string | null; smtpCode: number | null }
  | { outcome: 'temporary' | 'permanent'; smtpCode: number | null; error: string };

export interface Transport {
  /** What the startup log line says it is (never credentials). */
  readonly description: string;
  send(message: OutgoingMessage): Promise<SendOutcome>;
  /** Removes what it kept of these notifications (the .eml files), when their subject is erased. */
  forget?(ids: readonly string[]): Promise<void>;
  close(): void;
}

export interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

const mailOf = (m: OutgoingMessage) => ({
  from: m.from,
  to: m.to,
  subject: m.subject,
  text: m.text,
  html: m.html,
  headers: m.headers,
  messageId: m.messageId,
  ...(m.replyTo ? { replyTo: m.replyTo } : {}),
  // The Date header: one clock, the dispatcher's.
  date: new Date(),
});

/** A nodemailer error as the dispatcher sees it: the SMTP code and an error code, never the server's text. */
export function classify(error: unknown): SendOutcome {
  const e = error as { responseCode?: unknown; code?: unknown };
  const smtpCode = typeof e?.responseCode === 'number' ? e.responseCode : null;
  const code = typeof e?.code === 'string' && /^[A-Z0-9_]{1,32}$/.test(e.code) ? e.code : 'ESEND';
  // Authentication failing is the operator's configuration, not the address: never a bounce.
  if (smtpCode !== null && smtpCode >= 500 && smtpCode < 600 && code !== 'EAUTH')
    return { outcome: 'permanent', smtpCode, error: `${code} ${smtpCode}` };
  return { outcome: 'temporary', smtpCode, error: smtpCode === null ? code : `${code} ${smtpCode}` };
}

/** `250 2.0.0 OK: queued as ABC123` → `ABC123` (the server's id, when it gives one). */
function queuedAs(response: unknown): string | null {
  const m = typeof response === 'string' ? /queued as ([A-Za-z0-9._@<>-]{1,100})/i.exec(response) : null;
  return m ? m[1]! : null;
}

export function smtpTransport(
  url: string,
  o: { dkim?: DkimOptions | undefined; timeoutMs?: number | undefined } = {},
): Transport {
  const parsed = new URL(url);
  const timeout = o.timeoutMs ?? 30_000;
  const transporter = nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: 2,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    logger: false,
    debug: false,
    ...(o.dkim ? { dkim: o.dkim } : {}),
  } as never);
  return {
    description: `SMTP at ${parsed.protocol}//${parsed.hostname}:${parsed.port || (parsed.protocol === 'smtps:' ? 465 : 587)}`,
    async send(message) {
      try {
        const info = (await transporter.sendMail(mailOf(message))) as { response?: unknown };
        const code = typeof info.response === 'string' ? Number(info.response.slice(0, 3)) : NaN;
        return {
          outcome: 'sent',
          providerMessageId: queuedAs(info.response),
          smtpCode: Number.isInteger(code) ? code : null,
        };
      } catch (error) {
        return classify(error);
      }
    },
    close: () => transporter.close(),
  };
}

/** Writes each message as `<id>.eml` (0600) in `folder` (0700): what would have been sent. */
export function fileTransport(folder: string, o: { dkim?: DkimOptions | undefined } = {}): Transport {
  const builder = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'unix',
    ...(o.dkim ? { dkim: o.dkim } : {}),
  } as never);
  let ready: Promise<void> | undefined;
  return {
    description: `.eml files in ${folder}`,
    async send(message) {
      try {
        ready ??= mkdir(folder, { recursive: true, mode: 0o700 }).then(() => chmod(folder, 0o700));
        await ready;
        const info = (await builder.sendMail(mailOf(message))) as { message: Buffer };
        const path = join(folder, `${message.id}.eml`);
        // Whole or not at all: written beside, then renamed.
        await writeFile(`${path}.tmp`, info.message, { mode: 0o600 });
        await rename(`${path}.tmp`, path);
        return { outcome: 'sent', providerMessageId: null, smtpCode: null };
      } catch (error) {
        ready = undefined;
        return {
          outcome: 'temporary',
          smtpCode: null,
          error:
            typeof (error as { code?: unknown }).code === 'string'
              ? String((error as { code: string }).code).slice(0, 32)
              : 'EWRITE',
        };
      }
    },
    async forget(ids) {
      for (const id of ids) await rm(join(folder, `${id}.eml`), { force: true });
    },
    close: () => builder.close(),
  };
}
