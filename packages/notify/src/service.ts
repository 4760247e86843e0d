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
import { uuidv7 } from '@harakaflow/core';
import { claimDue } from '@harakaflow/db/internals';
import { and, eq, inArray } from 'drizzle-orm';
import { UnknownKind } from './errors.js';
import { attemptDelivery, UNKNOWN_KIND, type AttemptContext } from './delivery-attempt.js';
import { KINDS } from './kinds.js';
import { isLanguage } from './languages.js';
import { bouncingOf, listOutbox, outboxCounts, purgeSettled, retryFailed, type OutboxFilter } from './outbox-admin.js';
import { scheduleAnnouncements, schedulePolicyNotices, type Announcement } from './policy-notices.js';
import { preferencesOf, setPreference } from './preferences.js';
import { processBounce, type BounceResult } from './bounces.js';
import { acknowledgeNotice, accountNotices, type AccountNotice } from './deliveries.js';
import { outbox } from './schema.js';
import {
  addressesOf,
  eraseNotifications,
  exportNotifications,
  WAITING_FOR_VERIFICATION,
  type SubjectWhere,
} from './subject-data.js';
import { NO_BUSINESS_NAME, NO_NAME } from './template-types.js';
import type { EnqueueInput, NotificationView, NotifierConfig, PolicyVersion, Recipient } from './types.js';
import { unsubscribe, unsubscribeUrl } from './unsubscribe-links.js';

/** The kinds this version renders (KINDS is fixed at load). */
const KNOWN_KINDS = Object.keys(KINDS);

/** About 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h after each temporary failure; then failed. */
export const NOTIFY_RETRY_SCHEDULE_MS: readonly number[] = [
  60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

/**
 * The domain of a From address (`HarakaFlow <no-reply@harakaflow.com>` → `harakaflow.com`): Message-IDs end with it,
 * DKIM signs for it.
 */
export const fromDomain = (from: string) => /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'harakaflow.invalid';

export class Notifier {
  readonly #c: NotifierConfig;
  readonly #schedule: readonly number[];
  readonly #domain: string;

  /** What each attempt (delivery-attempt.ts) reads of this Notifier. */
  readonly #attempts: AttemptContext;

  constructor(config: NotifierConfig) {
    this.#c = config;
    this.#schedule = config.schedule ?? NOTIFY_RETRY_SCHEDULE_MS;
    this.#domain = fromDomain(config.from);
    this.#attempts = {
      c: config,
      schedule: this.#schedule,
      now: () => this.#now(),
      messageId: (id) => this.messageId(id),
    };
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
    await Promise.all(claimed.map((row) => attemptDelivery(this.#attempts, row, bouncing)));
    return claimed.length;
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

  /**
   * A one-click link for the kind, signed, working for UNSUBSCRIBE_LINK_DAYS from now (its expiry is in what is
   * signed).
   */
  unsubscribeUrl(accountId: string, kind: string): string {
    return unsubscribeUrl(this.#c, this.#now(), accountId, kind);
  }

  /** Turns off the kind an unsubscribe link names; the account and kind, or null for a bad or expired link. */
  unsubscribe(token: unknown): Promise<{ accountId: string; kind: string } | null> {
    return unsubscribe(this.#c, () => this.#now(), token);
  }

  /** The optional kinds and whether each is on for the account. */
  preferences(accountId: string): Promise<Record<string, boolean>> {
    return preferencesOf(this.#c.db, accountId);
  }

  setPreference(accountId: string, kind: string, enabled: boolean): Promise<void> {
    return setPreference(this.#c.db, this.#now(), accountId, kind, enabled);
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

  /**
   * Changes every account is told of before they take effect (a register change, §11), once per account and key
   * (policy-notices.ts).
   */
  scheduleAnnouncements(
    announcements: readonly Announcement[],
    recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>,
  ): Promise<{ key: string; queued: number }[]> {
    return scheduleAnnouncements(this.#c, () => this.#now(), announcements, recipients);
  }

  /**
   * A subject's notifications, preferences, bounce marks and delivery records: the legal notices it was given and how
   * each went (personal-data export).
   */
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

  /**
   * Acknowledges one of the account's notices: when (the first time, if again), or null when the account has no such
   * notice.
   */
  acknowledgeNotice(accountId: string, id: string): Promise<Date | null> {
    return acknowledgeNotice(this.#c.db, accountId, id, this.#now());
  }

  /** Erases a subject's notifications, preferences and bounce marks (subject-data.ts). */
  eraseSubject(where: SubjectWhere): Promise<{ erased: number; kept: { count: number; reason: string }[] }> {
    return eraseNotifications(this.#c, where);
  }

  /**
   * Settled rows created before `before` (the outbox's retention, 30 days), held accounts' kept. Returns how many (a
   * dry run: would).
   */
  purgeSettled(before: Date, limit = 1000, held: readonly string[] = [], dryRun = false): Promise<number> {
    return purgeSettled(this.#c.db, before, limit, held, dryRun);
  }
}
