/**
 * A mailbox read over IMAP (imapflow), by one replica at a time, each message handed to a consumer
 * once: the privacy mailbox's requests (issue 32), and any other mailbox a package reads (bounces).
 *
 * - One reader across replicas: a lease row per mailbox name (`notify.mailboxes`, @harakaflow/db's
 *   `takeLease`), renewed after every message; a replica that dies leaves it to run out.
 * - Exactly once, by UID: the row keeps the mailbox's UIDVALIDITY and the highest UID handed over.
 *   Each round opens the mailbox read-only (EXAMINE: flags untouched, the operator's client sees
 *   the mail as it was), lists the UIDs above the mark (`UID SEARCH`), and hands them over in UID
 *   order, one `UID FETCH` each, moving the mark after the consumer returns. A crash between the
 *   consumer's work and the mark's move hands that message over again: the consumer is idempotent
 *   on its `key` (mailbox name, UIDVALIDITY, UID). A new UIDVALIDITY (the mailbox was recreated)
 *   starts the mark over at 0.
 * - Polling, not IDLE: a round every `intervalMs` connects, reads and logs out, so no replica
 *   holds a connection it does not use and a lease moves between replicas between rounds.
 * - The URL carries a password: no message, log line or error names more than `label`
 *   (`user@host:port/mailbox`). imapflow's own logger is off; its errors are logged by code only.
 */
import { errorCodes } from '@harakaflow/core';
import { releaseLease, takeLease, type Database } from '@harakaflow/db';
import { and, eq } from 'drizzle-orm';
import type { ImapFlow } from 'imapflow';
import { randomUUID } from 'node:crypto';
import { invalidImapUrl } from './errors.js';
import { describeImapUrl, type ImapUrlParts } from './imap-url.js';
import { mailboxes } from './schema.js';

/**
 * What the IMAP server answered, as far as it is safe to log: its response code (an atom such as
 * AUTHENTICATIONFAILED or NONEXISTENT) or that the login failed, never its text.
 */
function imapAnswer(error: unknown): string | undefined {
  const e = error as { serverResponseCode?: unknown; authenticationFailed?: unknown } | null;
  if (typeof e?.serverResponseCode === 'string' && /^[A-Z][A-Z0-9-]{0,39}$/.test(e.serverResponseCode))
    return e.serverResponseCode;
  return e?.authenticationFailed === true ? 'AUTHENTICATIONFAILED' : undefined;
}

/** One message of the mailbox as the consumer gets it. */
export interface MailboxMessage {
  /** `name:uidValidity:uid`: the same every time this message is handed over (its idempotency key). */
  key: string;
  uidValidity: string;
  uid: number;
  /** When the server received it (IMAP INTERNALDATE). */
  receivedAt: Date;
  /** Its size on the server, bytes. */
  size: number;
  /** The raw RFC 822 message, at most `maxBytes` (its start, when `truncated`). */
  source: Buffer;
  truncated: boolean;
}

export interface MailboxReaderOptions {
  db: Database;
  /** `imaps://user:password@host/MAILBOX`. */
  url: string;
  /** The mailbox's name in `notify.mailboxes`: its lease and its mark (`privacy`, `bounces`). */
  name: string;
  /** What the URL is called in messages (its variable: `PRIVACY_IMAP_URL`). */
  urlName?: string | undefined;
  /**
   * Handles one message; must be idempotent on `message.key`. A throw stops the round (the message comes again next
   * round).
   */
  onMessage: (message: MailboxMessage) => Promise<void>;
  /** Between rounds, ms. Default 60,000. */
  intervalMs?: number | undefined;
  /** The reader's lease, ms (renewed after each message). Default 300,000. */
  leaseMs?: number | undefined;
  /** Messages handed over per round at most. Default 100. */
  batch?: number | undefined;
  /** The most of one message fetched, bytes. Default 10 MiB. */
  maxBytes?: number | undefined;
  /** TLS options for `imaps://` (a private CA: `{ ca }`). */
  tls?: { ca?: string | Buffer | undefined; rejectUnauthorized?: boolean | undefined } | undefined;
  /** Seconds to wait for the server. Default 30. */
  timeoutSeconds?: number | undefined;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  now?: (() => number) | undefined;
}

export interface RoundResult {
  /**
   * `busy`: another replica holds the lease; `done`: read (maybe nothing new); `failed`: the round stopped (logged).
   */
  status: 'busy' | 'done' | 'failed';
  /** Messages handed over. */
  handled: number;
  /** More are waiting past the batch. */
  more: boolean;
}

/** Rounds in a row a message may fail in before it is skipped (logged with its UID; left in the mailbox). */
export const POISON_ROUNDS = 3;

export class MailboxReader {
  readonly #o: MailboxReaderOptions;
  readonly #url: ImapUrlParts;
  readonly #me = randomUUID();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RoundResult> | undefined;
  #stopped = false;
  /** The message its consumer failed on last, and in how many rounds in a row. */
  #failing: { validity: string; uid: number; rounds: number } | undefined;

  constructor(options: MailboxReaderOptions) {
    this.#o = options;
    this.#url = describeImapUrl(options.url, options.urlName);
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(options.name))
      throw invalidImapUrl('name', 'must be lower-case letters, digits, _ or - (the mailbox row)');
  }

  /** `user@host:port/mailbox`, never the password. */
  get label(): string {
    return this.#url.label;
  }

  #now(): Date {
    return new Date((this.#o.now ?? Date.now)());
  }

  #lease(): Promise<boolean> {
    return takeLease(this.#o.db, {
      table: mailboxes,
      key: mailboxes.name,
      id: this.#o.name,
      holder: this.#me,
      now: this.#now(),
      ms: this.#o.leaseMs ?? 300_000,
    });
  }

  /** One round now (or the one in progress): lease, read, hand over, move the mark. Never throws. */
  round(): Promise<RoundResult> {
    this.#running ??= this.#round().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #round(): Promise<RoundResult> {
    let client: ImapFlow | undefined;
    let handled = 0;
    let current: number | undefined;
    try {
      if (!(await this.#lease())) return { status: 'busy', handled, more: false };
      const [state] = await this.#o.db.select().from(mailboxes).where(eq(mailboxes.name, this.#o.name));
      const u = this.#url;
      const timeout = (this.#o.timeoutSeconds ?? 30) * 1000;
      // Loaded when a mailbox is first read: an app that reads none (and its configuration's checks) never loads it.
      const { ImapFlow: Client } = await import('imapflow');
      client = new Client({
        host: u.host,
        port: u.port,
        secure: u.secure,
        auth: { user: u.user, pass: u.pass },
        logger: false,
        disableAutoIdle: true,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout * 4,
        ...(this.#o.tls ? { tls: this.#o.tls } : {}),
      });
      // A connection error after connect() (the server going away) must not become an uncaught 'error'.
      client.on('error', () => {});
      await client.connect();
      const box = await client.mailboxOpen(u.mailbox, { readOnly: true });
      const validity = String(box.uidValidity);
      let last = state?.uidValidity === validity ? state.lastUid : 0;
      if (state?.uidValidity && state.uidValidity !== validity)
        this.#o.log.warn(
          { mailbox: u.label, from: state.uidValidity, to: validity },
          'mailbox: UIDVALIDITY changed; every message is read again (the consumer skips those it has)',
        );
      if (state?.uidValidity !== validity) await this.#mark(validity, 0);
      const found =
        box.exists === 0 || box.uidNext - 1 <= last
          ? []
          : (await client.search({ uid: `${last + 1}:*` }, { uid: true })) || [];
      const uids = found.filter((uid) => uid > last).sort((a, b) => a - b);
      const batch = this.#o.batch ?? 100;
      const max = this.#o.maxBytes ?? 10 * 1024 * 1024;
      for (const uid of uids.slice(0, batch)) {
        if (this.#stopped) break;
        const got = await client.fetchOne(
          String(uid),
          { uid: true, size: true, internalDate: true, source: { maxLength: max } },
          { uid: true },
        );
        if (got && got.source) {
          const size = got.size ?? got.source.length;
          const receivedAt = got.internalDate ? new Date(got.internalDate) : this.#now();
          current = uid;
          try {
            await this.#o.onMessage({
              key: `${this.#o.name}:${validity}:${uid}`,
              uidValidity: validity,
              uid,
              receivedAt: Number.isNaN(receivedAt.getTime()) ? this.#now() : receivedAt,
              size,
              source: got.source,
              truncated: got.source.length < size,
            });
            this.#failing = undefined;
            handled++;
          } catch (error) {
            if (!this.#poisoned(validity, uid, error)) throw error;
            // Skipped, not lost: it stays in the mailbox, named here for an operator to read by hand.
            this.#o.log.error(
              { err: errorCodes(error), mailbox: u.label, uid, uidValidity: validity },
              'mailbox: a message its consumer cannot take was skipped (it stays in the mailbox)',
            );
          }
          current = undefined;
        }
        // Moved only while this replica still holds the lease (another may have taken it over after a stall).
        if (!(await this.#mark(validity, uid, true))) return { status: 'failed', handled, more: true };
        last = uid;
        if (!(await this.#lease())) return { status: 'busy', handled, more: true };
      }
      await this.#o.db
        .update(mailboxes)
        .set({ lastPollAt: this.#now() })
        .where(and(eq(mailboxes.name, this.#o.name), eq(mailboxes.holder, this.#me)));
      await client.logout().catch(() => {});
      client = undefined;
      return { status: 'done', handled, more: uids.length > batch };
    } catch (error) {
      this.#o.log.error(
        { err: errorCodes(error), imap: imapAnswer(error), mailbox: this.#url.label, handled, uid: current ?? null },
        'mailbox: the round stopped; it runs again at the next interval',
      );
      return { status: 'failed', handled, more: false };
    } finally {
      client?.close();
    }
  }

  /**
   * Whether a message whose consumer failed is to be skipped rather than handed over again: one
   * the database refuses as data (SQLSTATE class 22: a NUL, a bad encoding; a forged message can be
   * made so) at once, any other after POISON_ROUNDS rounds in a row failed on it. Without this, one
   * such message held the mark and every message after it, for good (security review of issue 34).
   */
  #poisoned(validity: string, uid: number, error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)) return true;
    const f = this.#failing;
    this.#failing =
      f && f.validity === validity && f.uid === uid ? { ...f, rounds: f.rounds + 1 } : { validity, uid, rounds: 1 };
    return this.#failing.rounds >= POISON_ROUNDS;
  }

  /** Moves the mark (and records the hand-over); false when this replica no longer holds the lease. */
  async #mark(validity: string, uid: number, handed = false): Promise<boolean> {
    const moved = await this.#o.db
      .update(mailboxes)
      .set({ uidValidity: validity, lastUid: uid, ...(handed ? { lastMessageAt: this.#now() } : {}) })
      .where(and(eq(mailboxes.name, this.#o.name), eq(mailboxes.holder, this.#me)))
      .returning({ name: mailboxes.name });
    return moved.length > 0;
  }

  /** Rounds every `intervalMs` (at once again while more are waiting) until `stop()`. */
  start(): void {
    const interval = this.#o.intervalMs ?? 60_000;
    const tick = () => {
      this.#timer = undefined;
      void this.round().then((r) => {
        if (!this.#stopped) this.#timer = setTimeout(tick, r.more && r.status === 'done' ? 0 : interval);
        this.#timer?.unref();
      });
    };
    this.#timer = setTimeout(tick, 0);
    this.#timer.unref();
  }

  /**
   * Stops the rounds; resolves once the round in progress has ended (after its current message) and the lease is given
   * back, so another replica reads on at once.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await releaseLease(this.#o.db, { table: mailboxes, key: mailboxes.name, id: this.#o.name, holder: this.#me }).catch(
      () => {},
    );
  }
}
