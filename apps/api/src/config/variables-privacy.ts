/**
 * The variable table's privacy entries: the privacy contact, WhatsApp number and mailbox, the processor register,
 * OpenAPI.
 */
import { describeImapUrl } from '@harakaflow/notify';
import { readFileSync } from 'node:fs';
import { count, flag, quote, text, variable } from './readers.js';
import type { EnvVariable } from './types.js';
import { checkRegister } from '../privacy/subprocessors.js';

export const PRIVACY_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'PRIVACY_CONTACT',
    key: 'privacyContact',
    shown: '`privacy@harakaflow.io`',
    meaning:
      "the privacy team's address, the policy's (§6, §8, §12): shown on the privacy centre page, at the end of every message that signs off, and as the OpenAPI document's contact",
    read: text(
      'privacy@harakaflow.io',
      /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/,
      (v) => `must be an email address such as privacy@harakaflow.io (got ${quote(v)})`,
    ),
  }),
  variable({
    name: 'PRIVACY_WHATSAPP_NUMBER',
    key: 'privacyWhatsappNumber',
    shown: 'unset: no number can be proved',
    meaning:
      "the service's WhatsApp number (E.164, e.g. `+254700000000`) that people send a code to from their own number, proving it is theirs before their request is passed to the businesses that hold it (issue 32 item 3; the code arrives through `POST /v1/webhooks/inbound/meta`, so META_APP_SECRET is needed too). Unset: `POST /v1/privacy/public-requests/:id/phone-code` answers 503 `HF_PRIVACY_WHATSAPP_NOT_CONFIGURED`",
    read: (t, problem) => {
      if (t !== undefined && !/^\+[1-9][0-9]{6,14}$/.test(t))
        problem(`must be an E.164 number: + and 7 to 15 digits (got ${quote(t)})`);
      return t;
    },
  }),
  variable({
    name: 'PRIVACY_IMAP_URL',
    key: 'privacyImapUrl',
    shown: 'unset: no mailbox read',
    meaning:
      'the privacy mailbox, read over IMAP: `imaps://user:password@host/INBOX` (credentials in the URL, percent-encoded; never logged or quoted: messages name `user@host:port/mailbox`). Each new message opens a rights request (its kind read from its text, else `unclassified`), the clock running from its receipt; the sender is told, with the code that confirms it, unless a machine sent it or the sender had 3 answers that day; a reply joins its request. One replica reads at a time (a lease in `notify.mailboxes`). `imap://` (no TLS) only outside production or to a loopback host',
    read: (t, problem) => {
      if (t === undefined) return undefined;
      try {
        describeImapUrl(t, 'PRIVACY_IMAP_URL');
      } catch (error) {
        // describeImapUrl's messages name the variable and never a part of the URL.
        problem((error as Error).message.replace(/^PRIVACY_IMAP_URL /, ''));
      }
      return t;
    },
  }),
  variable({
    name: 'PRIVACY_IMAP_POLL_SECONDS',
    key: 'privacyImapPollSeconds',
    shown: '`60`',
    meaning:
      'seconds between two reads of the privacy mailbox (5 to 3600); a read that finds more than 100 new messages goes on at once',
    read: count(60, { min: 5, max: 3600, says: (n) => `must be from 5 to 3600 seconds (got ${n})` }),
  }),
  variable({
    name: 'SUBPROCESSORS_FILE',
    key: 'subprocessors',
    shown: 'unset: the register in `apps/api/src/privacy/subprocessors.ts`',
    meaning:
      'the processor register (§5, §9) as a JSON file: an array of providers, each `{ id, name, purpose, dataCategories, location, transfer: { mechanism: none | adequacy | scc | dpf, sccModule?, note? }, contractUrl, since, until? }` (days as YYYY-MM-DD). Served at `/privacy/subprocessors` and `GET /v1/privacy/subprocessors`, stated in every export; a provider that starts (`since`) or stops (`until`) on a later day is announced to every account by email. Checked at startup: every problem is named',
    read: (t, problem) => {
      if (t === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(t, 'utf8'));
      } catch (error) {
        const code = (error as { code?: string }).code;
        return void problem(code ? `cannot be read (${code}): ${quote(t)}` : `is not JSON: ${quote(t)}`);
      }
      const { register, problems } = checkRegister(parsed);
      for (const why of problems.slice(0, 20)) problem(`${quote(t)}: ${why}`);
      return problems.length ? undefined : register;
    },
  }),
  variable({
    name: 'SUBPROCESSOR_NOTICE_DAYS',
    key: 'subprocessorNoticeDays',
    shown: '`30`',
    meaning:
      "days before a change of the processor register takes effect that every account is told (14 to 365; §11's 14 days at least): a change that can no longer be announced that early, and was not, stops the startup naming it",
    read: count(30, { min: 14, max: 365, says: (n) => `must be from 14 to 365 days (got ${n})` }),
  }),
  variable({
    name: 'OPENAPI_PUBLIC',
    key: 'openapiPublic',
    shown: '`0`',
    meaning:
      '`1` serves the API reference (`/docs`) and the OpenAPI document (`/docs/json`) with `NODE_ENV=production` too; otherwise production answers 404 there (every route, the admin ones included, is listed in it). Outside production it is always served',
    read: flag,
  }),
];
