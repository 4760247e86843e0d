/**
 * The outbox and its dispatcher, on Postgres (schema `notify`).
 *
 * - enqueue() writes one row: the kind, the account and its address, the template data. Nothing is
 *   sent on the caller's path. A `dedupeKey` makes it exactly-once across replicas.
 * - dispatch() claims due rows with @harakaflow/db's `claimDue` (FOR UPDATE SKIP LOCKED and a
 *   lease: the webhooks dispatcher's claim, shared), renders, sends and records the attempt: sent;
 *   temporary (4xx, connection) retried with backoff and jitter; permanent (5xx) failed, and the
 *   address marked bouncing. The Message-ID derives from the row id, the same on every retry.
 * - Optional kinds honour the account's preference, and carry List-Unsubscribe with one-click
 *   unsubscribe (RFC 8058) through an HMAC-signed link; security and legal notices cannot be
 *   turned off.
 * - An account's address that is not verified (`addressVerified`) gets only the kinds that say
 *   `unverified: 'send'`, never with the account's names; the others wait for the address to be
 *   verified (`releaseWaiting`), then are dropped (issue 30 item 6).
 */
import { errorCodes, openValue, sealValue, uuidv7, type SigningKey } from '@harakaflow/core';
import { claimDue, retryDelay, type Database } from '@harakaflow/db';
import { and, eq, inArray } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { NotOptional, UnknownKind } from './errors.js';
import { addresses, attempts, outbox, preferences } from './schema.js';
import type { NotificationStatus, NotificationView, PolicyVersion, Recipient } from './types.js';
export type { NotificationStatus, NotificationView, PolicyVersion, Recipient } from './types.js';
import { KINDS, NO_BUSINESS_NAME, NO_NAME, render, unverifiedWaitMs } from './templates.js';
import { isLanguage } from './languages.js';
import type { SendOutcome, Transport } from './transport.js';
import { bouncingOf, listOutbox, outboxCounts, purgeSettled, retryFailed, type OutboxFilter } from './outbox-admin.js';
import { scheduleAnnouncements, schedulePolicyNotices, type Announcement } from './policy-notices.js';
import { processBounce, type BounceResult } from './bounces.js';
import {
  acknowledgeNotice,
  accountNotices,
  eraseDeliveries,
  forgetReports,
  recordSend,
  type AccountNotice,
} from './deliveries.js';
import {
  addressesOf,
  eraseNotifications,
  exportNotifications,
  normalizeAddress,
  WAITING_FOR_VERIFICATION,
  type SubjectWhere,
} from './subject-data.js';

export { NOTICE_DAYS } from './policy-notices.js';
export type { Announcement } from './policy-notices.js';
/** About 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h after each temporary failure; then failed. */
/** What an older version wrote as the reason when it settled a message of a kind it did not know. */
const UNKNOWN_KIND = 'unknown kind';
/** The kinds this version renders (KINDS is fixed at load). */
const KNOWN_KINDS = Object.keys(KINDS);

export const NOTIFY_RETRY_SCHEDULE_MS: readonly number[] = [
  60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];
/** Kinds whose pending notices outlive their subject's erasure (sent, then deleted): they are about it. */
export { KEEP_UNTIL_SENT } from './subject-data.js';

type Row = typeof outbox.$inferSelect;

export interface NotifierConfig {
  db: Database;
  transport: Transport;
  /** The From address: `HarakaFlow <no-reply@harakaflow.com>`. Its domain ends every Message-ID. */
  from: string;
  /** Where links in messages point (unsubscribe): `https://api.harakaflow.com`. */
  publicUrl: string;
  /** HMAC keys of unsubscribe links: the first signs, all verify. */
  unsubscribeKeys: SigningKey[];
  /** The address messages sign off with (`{{privacyContact}}`); default DEFAULT_PRIVACY_CONTACT. */
  privacyContact?: string | undefined;
  /** The Reply-To of every message (the app: the privacy mailbox, where an answer joins its request); unset: none. */
  replyTo?: string | undefined;
  /** An account's address and names, or null (no such account: nothing is queued). */
  recipientOf?: ((accountId: string) => Promise<Recipient | null>) | undefined;
  /**
   * More template data at send time (links and codes that must not sit in the outbox, such as an
   * export's link or a verification code); `false`: nothing to send any more (suppressed).
   */
  enrich?:
    | ((row: {
        kind: string;
        accountId: string | null;
        data: Record<string, unknown>;
      }) => Promise<Record<string, unknown> | null | false>)
    | undefined;
  /**
   * Is this the account's verified address? Asked at send time for every message to an account.
   * Unset: every address counts as verified. A message to an address given without an account
   * (`to`: an emailed requester, whom the operator answers) is not asked about.
   */
  addressVerified?: ((accountId: string, address: string) => Promise<boolean>) | undefined;
  schedule?: readonly number[] | undefined;
  /** How long a claimed row is not due again: past the longest a send can take. Default 120 s. */
  leaseMs?: number | undefined;
  now?: (() => number) | undefined;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** A row was queued: the plugin runs a batch soon rather than at the next interval. */
  onQueued?: (() => void) | undefined;
  /**
   * A report read from the bounce mailbox that returns no message may name its recipient instead:
   * it then counts for the last message sent to that address within this many days. 0: only
   * reports that name a message (its Message-ID, or the kit's id header) count. Default 7.
   */
  reportRecipientDays?: number | undefined;
}

export interface EnqueueInput {
  kind: string;
  accountId?: string | undefined;
  /** The address, when there is no account (an emailed request) or it is not the account's. */
  to?: string | undefined;
  data?: Record<string, unknown> | undefined;
  /** At most one row per key, across replicas and restarts. */
  dedupeKey?: string | undefined;
  /** Delete the row once it is settled (sent or given up): a message to an address kept for it alone (an erasure receipt). */
  eraseAfterSend?: boolean | undefined;
  /**
   * The language to write it in (one of LANGUAGES: the one the person chose where they asked, e.g.
   * a request's). Unset: the recipient's (`recipientOf`'s `lang`), else English. A code without a
   * catalogue counts as unset.
   */
  lang?: string | null | undefined;
}

export { WAITING_FOR_VERIFICATION } from './subject-data.js';

/** The domain of a From address (`HarakaFlow <no-reply@harakaflow.com>` → `harakaflow.com`): Message-IDs end with it, DKIM signs for it. */
export const fromDomain = (from: string) => /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'harakaflow.invalid';

const UNSUBSCRIBE = 'hf-unsubscribe';
/** Days an unsubscribe link works from the message it was sent in (issue 30 item 12). */
export const UNSUBSCRIBE_LINK_DAYS = 90;
/**
 * Links sent before links carried their expiry (`[accountId, kind]`, before issue 30) work until
 * this instant: 90 days from the release that dated them (2026-12-07), so a message already in an
 * inbox keeps working as long as a new one would, and then no undated link works at all.
 */
export const LEGACY_UNSUBSCRIBE_LINKS_UNTIL = Date.parse('2027-03-07T00:00:00Z');

export class Notifier {
  readonly #c: NotifierConfig;
  readonly #schedule: readonly number[];
  readonly #domain: string;

  constructor(config: NotifierConfig) {
    this.#c = config;
    this.#schedule = config.schedule ?? NOTIFY_RETRY_SCHEDULE_MS;
    this.#domain = fromDomain(config.from);
  }

  #now(): Date {
    return new Date((this.#c.now ?? Date.now)());
  }

  /** Queues a notification; returns its id, or null when it has nobody to go to or was queued before. */
  async enqueue(input: EnqueueInput): Promise<string | null> {
    if (!KINDS[input.kind]) throw new UnknownKind(JSON.stringify(input.kind));
    let recipient: Recipient | null = input.to ? { address: input.to } : null;
    if (input.accountId && this.#c.recipientOf) {
      const found = await this.#c.recipientOf(input.accountId);
      recipient = input.to ? { ...found, address: input.to } : found;
    }
    if (!recipient?.address) return null;
    const lang = [input.lang, recipient.lang].find(isLanguage) ?? null;
    const now = this.#now();
    const [row] = await this.#c.db
      .insert(outbox)
      .values({
        id: uuidv7(now.getTime()),
        kind: input.kind,
        accountId: input.accountId ?? null,
        address: recipient.address,
        // NO_NAME and NO_BUSINESS_NAME: what replicas of the previous version greet with; read as no name.
        data: {
          name: recipient.name || NO_NAME,
          businessName: recipient.businessName || NO_BUSINESS_NAME,
          ...input.data,
        },
        lang,
        dedupeKey: input.dedupeKey ?? null,
        nextAttemptAt: now,
        createdAt: now,
        eraseAfterSend: input.eraseAfterSend === true,
      })
      .onConflictDoNothing()
      .returning({ id: outbox.id });
    if (row) this.#c.onQueued?.();
    return row?.id ?? null;
  }

  /** Claims up to `limit` due notifications and attempts each once. Returns how many were attempted. */
  async dispatch(limit = 20): Promise<number> {
    const now = this.#now();
    // Only kinds this version can render: a kind a newer replica queued waits for a replica that
    // knows it (during a rolling deploy, or after a rollback) instead of being settled here.
    const claimed = await claimDue(this.#c.db, outbox, {
      pending: 'pending',
      now,
      leaseUntil: new Date(now.getTime() + (this.#c.leaseMs ?? 120_000)),
      limit,
      where: inArray(outbox.kind, KNOWN_KINDS),
    });
    if (!claimed.length) return 0;
    const bouncing = await bouncingOf(this.#c.db, addressesOf(claimed));
    await Promise.all(claimed.map((row) => this.#attempt(row, bouncing)));
    return claimed.length;
  }

  async #attempt(row: Row, marked: Map<string, 'bouncing' | 'complained'>): Promise<void> {
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
          : spec.category === 'optional' && row.accountId && !(await this.#enabled(row.accountId, row.kind))
            ? 'turned off by the account'
            : null;
    if (suppressed) return this.#settle(row, { status: 'suppressed', lastError: suppressed });
    // Issue 30 item 6: an address nobody has shown to be theirs gets no text the account wrote.
    const verified =
      !row.accountId || !this.#c.addressVerified || (await this.#c.addressVerified(row.accountId, row.address!));
    if (!verified) {
      const waitMs = unverifiedWaitMs(spec!);
      if (waitMs !== null) {
        const until = row.createdAt.getTime() + waitMs;
        // Its subject erased meanwhile: the address will never be verified; it goes now (the row with it).
        if (row.eraseAfterSend || until <= this.#now().getTime())
          return this.#settle(row, { status: 'suppressed', lastError: 'the address was not verified' });
        // Not an attempt: the claim's count is given back, and the row sleeps until its wait ends (releaseWaiting wakes it).
        await this.#c.db
          .update(outbox)
          .set({ nextAttemptAt: new Date(until), attempts: row.attempts - 1, lastError: WAITING_FOR_VERIFICATION })
          .where(eq(outbox.id, row.id));
        return;
      }
    }
    let outcome: SendOutcome;
    let subject: string | null = null;
    try {
      const extra = await this.#c.enrich?.({ kind: row.kind, accountId: row.accountId, data: row.data });
      if (extra === false) return this.#settle(row, { status: 'suppressed', lastError: 'nothing to send any more' });
      const headers: Record<string, string> = {};
      let data = { ...row.data, ...extra };
      if (!verified) data = { ...data, name: NO_NAME, businessName: NO_BUSINESS_NAME };
      if (spec!.category === 'optional' && row.accountId) {
        const url = this.unsubscribeUrl(row.accountId, row.kind);
        headers['List-Unsubscribe'] = `<${url}>`;
        headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
        data = { ...data, unsubscribeUrl: url };
      }
      const rendered = render(
        row.kind,
        this.#c.privacyContact ? { ...data, privacyContact: this.#c.privacyContact } : data,
        row.lang,
      );
      subject = rendered.subject;
      outcome = await this.#c.transport.send({
        id: row.id,
        from: this.#c.from,
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
        messageId: this.messageId(row.id),
        ...(this.#c.replyTo ? { replyTo: this.#c.replyTo } : {}),
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
    const at = this.#now();
    await this.#c.db.insert(attempts).values({
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
      await recordSend(this.#c.db, row, subject, at, {
        accepted: outcome.outcome === 'sent',
        smtpCode: outcome.smtpCode,
      }).catch((error: unknown) =>
        this.#c.log.error(
          { err: errorCodes(error), notification: row.id, kind: row.kind },
          'notify: the delivery record was not written; the message went',
        ),
      );
    }
    if (outcome.outcome === 'sent')
      return this.#settle(row, { status: 'sent', providerMessageId: outcome.providerMessageId, lastError: null });
    if (outcome.outcome === 'permanent') {
      await this.#c.db
        .insert(addresses)
        .values({ address: normalizeAddress(row.address!), status: 'bouncing', smtpCode: outcome.smtpCode, since: at })
        .onConflictDoUpdate({ target: addresses.address, set: { smtpCode: outcome.smtpCode, since: at } });
      this.#c.log.warn(
        { notification: row.id, kind: row.kind, smtpCode: outcome.smtpCode },
        'notify: the server refused the address for good; it is marked bouncing',
      );
      return this.#settle(row, { status: 'failed', lastError: outcome.error });
    }
    const delay = retryDelay(row.attempts, this.#schedule);
    if (delay === null) return this.#settle(row, { status: 'failed', lastError: outcome.error });
    await this.#c.db
      .update(outbox)
      .set({ nextAttemptAt: new Date(at.getTime() + delay), lastError: outcome.error })
      .where(eq(outbox.id, row.id));
  }

  /** A final state; a notice kept past its subject's erasure is deleted once settled. */
  async #settle(
    row: Row,
    set: { status: NotificationStatus; lastError: string | null; providerMessageId?: string | null },
  ): Promise<void> {
    // The flag is read back, not taken from the claimed copy: the subject may have been erased
    // while this message was being sent (and the row itself deleted, when it was not kept).
    const [after] = await this.#c.db
      .update(outbox)
      .set({ ...set, settledAt: this.#now() })
      .where(eq(outbox.id, row.id))
      .returning({ erase: outbox.eraseAfterSend });
    if (after && !after.erase) return;
    await this.#c.db.delete(attempts).where(eq(attempts.notificationId, row.id));
    await eraseDeliveries(this.#c.db, null, [row.id]);
    await forgetReports(this.#c.db, [row.id]);
    if (!after) return;
    await this.#c.db.delete(outbox).where(eq(outbox.id, row.id));
    await this.#c.transport.forget?.([row.id]);
  }

  /**
   * Messages an older version settled as `suppressed` because it did not know their kind (before
   * it claimed only the kinds it knows), of a kind this version knows: due again. Run at startup
   * and every few minutes, so a rolling deploy that adds a kind loses none of its messages.
   */
  async reviveUnknownKinds(): Promise<number> {
    const revived = await this.#c.db
      .update(outbox)
      .set({ status: 'pending', lastError: null, settledAt: null, nextAttemptAt: this.#now() })
      .where(
        and(eq(outbox.status, 'suppressed'), eq(outbox.lastError, UNKNOWN_KIND), inArray(outbox.kind, KNOWN_KINDS)),
      )
      .returning({ id: outbox.id });
    if (revived.length) this.#c.onQueued?.();
    return revived.length;
  }

  /**
   * The account's address was verified: its messages waiting for that are due now. Returns how many.
   */
  async releaseWaiting(accountId: string): Promise<number> {
    const woken = await this.#c.db
      .update(outbox)
      .set({ nextAttemptAt: this.#now(), lastError: null })
      .where(
        and(
          eq(outbox.accountId, accountId),
          eq(outbox.status, 'pending'),
          eq(outbox.lastError, WAITING_FOR_VERIFICATION),
        ),
      )
      .returning({ id: outbox.id });
    if (woken.length) this.#c.onQueued?.();
    return woken.length;
  }

  /** `<id@domain>` of the From address: the same on every retry, so a duplicate can be recognised. */
  messageId(id: string): string {
    return `<${id}@${this.#domain}>`;
  }

  /** A one-click link for the kind, signed, working for UNSUBSCRIBE_LINK_DAYS from now (its expiry is in what is signed). */
  unsubscribeUrl(accountId: string, kind: string): string {
    const expires = Math.floor(this.#now().getTime() / 1000) + UNSUBSCRIBE_LINK_DAYS * 86_400;
    const token = sealValue(
      UNSUBSCRIBE,
      Buffer.from(JSON.stringify([accountId, kind, expires])).toString('base64url'),
      this.#c.unsubscribeKeys[0]!,
    );
    return `${this.#c.publicUrl.replace(/\/+$/, '')}/v1/notifications/unsubscribe?token=${token}`;
  }

  /** Turns off the kind an unsubscribe link names; the account and kind, or null for a bad or expired link. */
  async unsubscribe(token: unknown): Promise<{ accountId: string; kind: string } | null> {
    const opened = openValue(UNSUBSCRIBE, token, this.#c.unsubscribeKeys, 600);
    if (!opened) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(opened.payload, 'base64url').toString());
    } catch {
      return null;
    }
    if (
      !Array.isArray(parsed) ||
      (parsed.length !== 2 && parsed.length !== 3) ||
      typeof parsed[0] !== 'string' ||
      typeof parsed[1] !== 'string' ||
      KINDS[parsed[1]]?.category !== 'optional'
    )
      return null;
    // [accountId, kind, expires (Unix seconds)]; an undated link (sent before links were dated)
    // only until LEGACY_UNSUBSCRIBE_LINKS_UNTIL.
    const now = this.#now().getTime();
    const live =
      parsed.length === 3
        ? Number.isSafeInteger(parsed[2]) && now < (parsed[2] as number) * 1000
        : now < LEGACY_UNSUBSCRIBE_LINKS_UNTIL;
    if (!live) return null;
    await this.setPreference(parsed[0], parsed[1], false);
    return { accountId: parsed[0], kind: parsed[1] };
  }

  async #enabled(accountId: string, kind: string): Promise<boolean> {
    const [row] = await this.#c.db
      .select({ enabled: preferences.enabled })
      .from(preferences)
      .where(and(eq(preferences.accountId, accountId), eq(preferences.kind, kind)));
    return row?.enabled ?? true;
  }

  /** The optional kinds and whether each is on for the account. */
  async preferences(accountId: string): Promise<Record<string, boolean>> {
    const rows = await this.#c.db.select().from(preferences).where(eq(preferences.accountId, accountId));
    const set = new Map(rows.map((r) => [r.kind, r.enabled]));
    return Object.fromEntries(
      Object.entries(KINDS)
        .filter(([, spec]) => spec.category === 'optional')
        .map(([kind]) => [kind, set.get(kind) ?? true]),
    );
  }

  async setPreference(accountId: string, kind: string, enabled: boolean): Promise<void> {
    const spec = KINDS[kind];
    if (!spec) throw new UnknownKind(JSON.stringify(kind));
    if (spec.category !== 'optional') throw new NotOptional(kind);
    const at = this.#now();
    await this.#c.db
      .insert(preferences)
      .values({ accountId, kind, enabled, updatedAt: at })
      .onConflictDoUpdate({ target: [preferences.accountId, preferences.kind], set: { enabled, updatedAt: at } });
  }

  /** Queues failed notifications again (`hf-notify retry --failed`; outbox-admin.ts). Returns how many. */
  retryFailed(o: { includeBouncing?: boolean } = {}): Promise<number> {
    return retryFailed(this.#c, this.#now(), o);
  }

  /** The outbox for operators, newest first (keyset on the UUIDv7 id). Never the template data. */
  list(filter: OutboxFilter = {}): Promise<{ notifications: NotificationView[]; nextCursor: string | null }> {
    return listOutbox(this.#c.db, filter);
  }

  /** For GET /health: how many are waiting, have failed for good, and addresses bouncing. */
  counts(): Promise<{ pending: number; failed: number; bouncing: number }> {
    return outboxCounts(this.#c.db);
  }

  /** §11's notices of an upcoming policy version, once per account and version (policy-notices.ts). */
  schedulePolicyNotices(
    versions: readonly PolicyVersion[],
    recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>,
    o: { policyUrl: string },
  ): Promise<{ version: string; queued: number }[]> {
    return schedulePolicyNotices(this.#c, () => this.#now(), versions, recipients, o);
  }

  /** Changes every account is told of before they take effect (a register change, §11), once per account and key (policy-notices.ts). */
  scheduleAnnouncements(
    announcements: readonly Announcement[],
    recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>,
  ): Promise<{ key: string; queued: number }[]> {
    return scheduleAnnouncements(this.#c, () => this.#now(), announcements, recipients);
  }

  /** A subject's notifications, preferences, bounce marks and delivery records: the legal notices it was given and how each went (personal-data export). */
  async exportSubject(where: SubjectWhere) {
    return exportNotifications(this.#c.db, where, 'accountId' in where ? await this.preferences(where.accountId) : {});
  }

  /**
   * Reads one raw RFC 822 message from the bounce mailbox: a DSN (RFC 3464) or an abuse report (ARF,
   * RFC 5965) about a message sent here is recorded (bounces.ts); anything else is ignored.
   * Idempotent by the report's Message-ID. Throws only when the database does (read it again later).
   */
  processBounceMessage(raw: Buffer | Uint8Array, o: { receivedAt?: Date | undefined } = {}): Promise<BounceResult> {
    return processBounce(
      { db: this.#c.db, domain: this.#domain, recipientDays: this.#c.reportRecipientDays ?? 7, now: () => this.#now() },
      raw,
      o,
    );
  }

  /**
   * The account's legal notices that did not reach it (bounced, or reported as abuse) and that it
   * has not acknowledged, oldest first (at most 100). `markShown`: recorded as shown now (the API
   * answer that carries them).
   */
  notices(accountId: string, o: { markShown?: boolean } = {}): Promise<AccountNotice[]> {
    return accountNotices(this.#c.db, accountId, this.#now(), o.markShown === true);
  }

  /** Acknowledges one of the account's notices: when (the first time, if again), or null when the account has no such notice. */
  acknowledgeNotice(accountId: string, id: string): Promise<Date | null> {
    return acknowledgeNotice(this.#c.db, accountId, id, this.#now());
  }

  /** Erases a subject's notifications, preferences and bounce marks (subject-data.ts). */
  eraseSubject(where: SubjectWhere): Promise<{ erased: number; kept: { count: number; reason: string }[] }> {
    return eraseNotifications(this.#c, where);
  }

  /** Settled rows created before `before` (the outbox's retention, 30 days), held accounts' kept. Returns how many (a dry run: would). */
  purgeSettled(before: Date, limit = 1000, held: readonly string[] = [], dryRun = false): Promise<number> {
    return purgeSettled(this.#c.db, before, limit, held, dryRun);
  }
}
