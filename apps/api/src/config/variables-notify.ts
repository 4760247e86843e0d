/**
 * The variable table's notify entries (§2, §6, §11): SMTP or .eml files, the From address, DKIM, bounces, the public
 * URL.
 */
import { optional, quote, text, url, variable } from './readers.js';
import type { EnvVariable } from './types.js';

export const NOTIFY_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'SMTP_URL',
    key: 'smtpUrl',
    shown: 'unset',
    meaning:
      '`smtp://user:password@host:587` or `smtps://...:465`: notifications are sent through it (credentials in the URL; never logged or quoted). Unset: each message is written as an `.eml` file under `DATA_DIR/outbox`, and a startup log line names the folder; with `NODE_ENV=production` that needs `NOTIFY_TRANSPORT=eml`',
    read: url(
      ['smtp:', 'smtps:'],
      'must be an smtp:// or smtps:// URL (credentials in it: smtps://user:password@host:465)',
    ),
  }),
  {
    name: 'NOTIFY_TRANSPORT',
    shown: '`smtp` with `SMTP_URL`, else `eml`',
    meaning:
      'how notifications leave: `smtp` (through `SMTP_URL`, required then) or `eml` (`.eml` files under `DATA_DIR/outbox`, no mail sent; refused with `SMTP_URL`). With `NODE_ENV=production` and no `SMTP_URL` startup stops unless this is `eml`: nobody would receive the messages the policy promises (§2, §6, §11) unless something else delivers those files',
    // A refused value is unset, so its only problem is its own.
    read: (t, problem) =>
      t === undefined || t === 'smtp' || t === 'eml' ? t : void problem(`must be smtp or eml (got ${quote(t)})`),
  },
  variable({
    name: 'NOTIFY_FROM',
    key: 'notifyFrom',
    shown: '`HarakaFlow <no-reply@harakaflow.com>`',
    meaning: 'the From address; its domain ends every `Message-ID` and is the DKIM domain',
    read: text(
      'HarakaFlow <no-reply@harakaflow.com>',
      /^[^<>@\r\n]*<[^<>@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}>$|^[^<>@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/,
      (v) => `must be an address, e.g. "HarakaFlow <no-reply@harakaflow.com>" (got ${quote(v)})`,
    ),
  }),
  {
    name: 'NOTIFY_DKIM_SELECTOR',
    shown: 'unset',
    meaning: 'DKIM signing, with `NOTIFY_DKIM_KEY` (both or neither): the selector',
    read: optional,
  },
  {
    name: 'NOTIFY_DKIM_KEY',
    shown: 'unset',
    meaning: 'the DKIM private key: PEM (newlines as `\\n` allowed) or the path of a file holding one',
    read: optional,
  },
  variable({
    name: 'NOTIFY_BOUNCE_IMAP_URL',
    key: 'notifyBounceImapUrl',
    shown: 'unset: no bounce mailbox read',
    meaning:
      "the bounce mailbox, read over IMAP by one replica at a time: `imaps://user:password@host/INBOX` (credentials in the URL, percent-encoded; never logged or quoted). It must receive what comes back to `NOTIFY_FROM`'s address (the envelope sender) and the feedback loops' reports: a DSN (RFC 3464) or an abuse report (ARF) about a message sent here marks the address `bouncing` (5.x.x) or `complained`, records how the message went, and shows a §11 notice or a request's answer that did not arrive on the account's `GET /v1/me` (`notices`) and in the privacy centre. `imap://` (no TLS) only outside production or to a loopback host",
    read: url(['imap:', 'imaps:'], 'must be an imaps:// (or imap://) URL: imaps://user:password@host/INBOX'),
  }),
  {
    name: 'PUBLIC_URL',
    shown: '`http://$HOST:$PORT` (`https` with `TLS_CERT_FILE`); required (https) in production',
    meaning:
      "the API's address as people reach it: the links in messages (one-click unsubscribe, export downloads), and the one Origin the privacy centre accepts state-changing requests from",
    read: optional,
  },
];
