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
 */
import { openValue, sealValue, uuidv7, type SigningKey } from '@harakaflow/core';
import { claimDue, retryDelay, type Database } from '@harakaflow/db';
import { and, asc, count, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { InvalidFilter, NotOptional, noticeTooLate, UnknownKind } from './errors.js';
import { addresses, attempts, outbox, policyNotices, preferences } from './schema.js';
import { KINDS, render } from './templates.js';
import type { SendOutcome, Transport } from './transport.js';

const DAY = 86_400_000;
/** §11: material changes are announced at least this long before they take effect. */
export const NOTICE_DAYS = 14;
/** About 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h after each temporary failure; then failed. */
export const NOTIFY_RETRY_SCHEDULE_MS: readonly number[] = [60_000, 300_000, 1_800_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000];
/** Kinds whose pending notices outlive their subject's erasure (sent, then deleted): they are about it. */
export const KEEP_UNTIL_SENT = ['account.deletion.scheduled', 'privacy.request.updated'];

export type NotificationStatus = 'pending' | 'sent' | 'failed' | 'suppressed';
type Row = typeof outbox.$inferSelect;

export interface Recipient {
  address: string;
  name?: string | null | undefined;
  businessName?: string | null | undefined;
}

export interface PolicyVersion {
  version: string;
  publishedAt: Date | string;
  effectiveAt: Date | string;
  material: boolean;
}

export interface NotifierConfig {
  db: Database;
  transport: Transport;
  /** The From address: `HarakaFlow <no-reply@harakaflow.com>`. Its domain ends every Message-ID. */
  from: string;
  /** Where links in messages point (unsubscribe): `https://api.harakaflow.com`. */
  publicUrl: string;
  /** HMAC keys of unsubscribe links: the first signs, all verify. */
  unsubscribeKeys: SigningKey[];
  /** An account's address and names, or null (no such account: nothing is queued). */
  recipientOf?: ((accountId: string) => Promise<Recipient | null>) | undefined;
  /** More template data at send time (links that must not sit in the outbox, such as an export's). */
  enrich?: ((row: { kind: string; accountId: string | null; data: Record<string, unknown> }) => Promise<Record<string, unknown> | null>) | undefined;
  schedule?: readonly number[] | undefined;
  /** How long a claimed row is not due again: past the longest a send can take. Default 120 s. */
  leaseMs?: number | undefined;
  now?: (() => number) | undefined;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** A row was queued: the plugin runs a batch soon rather than at the next interval. */
  onQueued?: (() => void) | undefined;
}

export interface EnqueueInput {
  kind: string;
  accountId?: string | undefined;
  /** The address, when there is no account (an emailed request) or it is not the account's. */
  to?: string | undefined;
  data?: Record<string, unknown> | undefined;
  /** At most one row per key, across replicas and restarts. */
  dedupeKey?: string | undefined;
}

export interface NotificationView {
  id: string;
  kind: string;
  accountId: string | null;
  address: string | null;
  status: NotificationStatus;
  attempts: number;
  createdAt: string;
  nextAttemptAt: string | null;
  settledAt: string | null;
  providerMessageId: string | null;
  lastError: string | null;
}

const normalizeAddress = (a: string) => a.trim().toLowerCase();
/** The domain of a From address (`HarakaFlow <no-reply@harakaflow.com>` → `harakaflow.com`): Message-IDs end with it, DKIM signs for it. */
export const fromDomain = (from: string) => /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'harakaflow.invalid';
/** The distinct addresses of some rows, as `notify.addresses` keys them. */
const addressesOf = (rows: readonly { address: string | null }[]) => [...new Set(rows.map((r) => r.address).filter((a): a is string => !!a).map(normalizeAddress))];
/** A subject's rows: an account's, or those sent to an email address. */
const subjectRows = (where: { accountId: string } | { email: string }) =>
  'accountId' in where ? eq(outbox.accountId, where.accountId) : sql`lower(${outbox.address}) = ${normalizeAddress(where.email)}`;
const UNSUBSCRIBE = 'hf-unsubscribe';

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
    const now = this.#now();
    const [row] = await this.#c.db
      .insert(outbox)
      .values({
        id: uuidv7(now.getTime()),
        kind: input.kind,
        accountId: input.accountId ?? null,
        address: recipient.address,
        data: { name: recipient.name || 'there', businessName: recipient.businessName || 'your account', ...input.data },
        dedupeKey: input.dedupeKey ?? null,
        nextAttemptAt: now,
        createdAt: now,
      })
      .onConflictDoNothing()
      .returning({ id: outbox.id });
    if (row) this.#c.onQueued?.();
    return row?.id ?? null;
  }

  /** Claims up to `limit` due notifications and attempts each once. Returns how many were attempted. */
  async dispatch(limit = 20): Promise<number> {
    const now = this.#now();
    const claimed = await claimDue(this.#c.db, outbox, { pending: 'pending', now, leaseUntil: new Date(now.getTime() + (this.#c.leaseMs ?? 120_000)), limit });
    if (!claimed.length) return 0;
    const bouncing = await this.#bouncing(addressesOf(claimed));
    await Promise.all(claimed.map((row) => this.#attempt(row, bouncing)));
    return claimed.length;
  }

  /** Which of these (normalized) addresses are marked bouncing: one query for a batch. */
  async #bouncing(listed: string[]): Promise<Set<string>> {
    if (!listed.length) return new Set();
    return new Set((await this.#c.db.select({ a: addresses.address }).from(addresses).where(inArray(addresses.address, listed))).map((r) => r.a));
  }

  async #attempt(row: Row, bouncing: Set<string>): Promise<void> {
    const spec = KINDS[row.kind];
    const started = Date.now();
    const suppressed = !row.address
      ? 'no address'
      : bouncing.has(normalizeAddress(row.address))
        ? 'the address is bouncing'
        : !spec
          ? 'unknown kind'
          : spec.category === 'optional' && row.accountId && !(await this.#enabled(row.accountId, row.kind))
            ? 'turned off by the account'
            : null;
    if (suppressed) return this.#settle(row, { status: 'suppressed', lastError: suppressed });
    let outcome: SendOutcome;
    try {
      const extra = (await this.#c.enrich?.({ kind: row.kind, accountId: row.accountId, data: row.data })) ?? {};
      const headers: Record<string, string> = {};
      let data = { ...row.data, ...extra };
      if (spec!.category === 'optional' && row.accountId) {
        const url = this.unsubscribeUrl(row.accountId, row.kind);
        headers['List-Unsubscribe'] = `<${url}>`;
        headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
        data = { ...data, unsubscribeUrl: url };
      }
      const rendered = render(row.kind, data);
      outcome = await this.#c.transport.send({
        id: row.id,
        from: this.#c.from,
        to: row.address!,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers: { ...headers, 'X-HarakaFlow-Notification': row.kind },
        messageId: this.messageId(row.id),
      });
    } catch (error) {
      // A template without its data, or enrich failing: retried like a temporary failure, then failed.
      const code = (error as { code?: unknown }).code;
      outcome = { outcome: 'temporary', smtpCode: null, error: typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'HF_NOTIFY_RENDER_FAILED' };
    }
    const at = this.#now();
    await this.#c.db.insert(attempts).values({ id: randomUUID(), notificationId: row.id, attemptedAt: at, outcome: outcome.outcome, smtpCode: outcome.smtpCode, error: outcome.outcome === 'sent' ? null : outcome.error, durationMs: Date.now() - started });
    if (outcome.outcome === 'sent') return this.#settle(row, { status: 'sent', providerMessageId: outcome.providerMessageId, lastError: null });
    if (outcome.outcome === 'permanent') {
      await this.#c.db
        .insert(addresses)
        .values({ address: normalizeAddress(row.address!), status: 'bouncing', smtpCode: outcome.smtpCode, since: at })
        .onConflictDoUpdate({ target: addresses.address, set: { smtpCode: outcome.smtpCode, since: at } });
      this.#c.log.warn({ notification: row.id, kind: row.kind, smtpCode: outcome.smtpCode }, 'notify: the server refused the address for good; it is marked bouncing');
      return this.#settle(row, { status: 'failed', lastError: outcome.error });
    }
    const delay = retryDelay(row.attempts, this.#schedule);
    if (delay === null) return this.#settle(row, { status: 'failed', lastError: outcome.error });
    await this.#c.db.update(outbox).set({ nextAttemptAt: new Date(at.getTime() + delay), lastError: outcome.error }).where(eq(outbox.id, row.id));
  }

  /** A final state; a notice kept past its subject's erasure is deleted once settled. */
  async #settle(row: Row, set: { status: NotificationStatus; lastError: string | null; providerMessageId?: string | null }): Promise<void> {
    // The flag is read back, not taken from the claimed copy: the subject may have been erased
    // while this message was being sent (and the row itself deleted, when it was not kept).
    const [after] = await this.#c.db.update(outbox).set({ ...set, settledAt: this.#now() }).where(eq(outbox.id, row.id)).returning({ erase: outbox.eraseAfterSend });
    if (after && !after.erase) return;
    await this.#c.db.delete(attempts).where(eq(attempts.notificationId, row.id));
    if (!after) return;
    await this.#c.db.delete(outbox).where(eq(outbox.id, row.id));
    await this.#c.transport.forget?.([row.id]);
  }

  /** `<id@domain>` of the From address: the same on every retry, so a duplicate can be recognised. */
  messageId(id: string): string {
    return `<${id}@${this.#domain}>`;
  }

  unsubscribeUrl(accountId: string, kind: string): string {
    const token = sealValue(UNSUBSCRIBE, Buffer.from(JSON.stringify([accountId, kind])).toString('base64url'), this.#c.unsubscribeKeys[0]!);
    return `${this.#c.publicUrl.replace(/\/+$/, '')}/v1/notifications/unsubscribe?token=${token}`;
  }

  /** Turns off the kind an unsubscribe link names; the account and kind, or null for a bad link. */
  async unsubscribe(token: unknown): Promise<{ accountId: string; kind: string } | null> {
    const opened = openValue(UNSUBSCRIBE, token, this.#c.unsubscribeKeys, 600);
    if (!opened) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(opened.payload, 'base64url').toString());
    } catch {
      return null;
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string' || KINDS[parsed[1]]?.category !== 'optional') return null;
    await this.setPreference(parsed[0], parsed[1], false);
    return { accountId: parsed[0], kind: parsed[1] };
  }

  async #enabled(accountId: string, kind: string): Promise<boolean> {
    const [row] = await this.#c.db.select({ enabled: preferences.enabled }).from(preferences).where(and(eq(preferences.accountId, accountId), eq(preferences.kind, kind)));
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
    await this.#c.db.insert(preferences).values({ accountId, kind, enabled, updatedAt: at }).onConflictDoUpdate({ target: [preferences.accountId, preferences.kind], set: { enabled, updatedAt: at } });
  }

  /** The outbox for operators, newest first (keyset on the UUIDv7 id). Never the template data. */
  async list(filter: { status?: string | undefined; kind?: string | undefined; cursor?: string | undefined; limit?: number | undefined } = {}): Promise<{ notifications: NotificationView[]; nextCursor: string | null }> {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    if (filter.status !== undefined && !['pending', 'sent', 'failed', 'suppressed'].includes(filter.status)) throw new InvalidFilter('status must be pending, sent, failed or suppressed');
    if (filter.kind !== undefined && !KINDS[filter.kind]) throw new InvalidFilter(`kind must be one of ${Object.keys(KINDS).join(', ')}`);
    if (filter.cursor !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(filter.cursor)) throw new InvalidFilter('cursor is not one this list gave');
    const where: SQL[] = [];
    if (filter.status) where.push(eq(outbox.status, filter.status as NotificationStatus));
    if (filter.kind) where.push(eq(outbox.kind, filter.kind));
    if (filter.cursor) where.push(lt(outbox.id, filter.cursor));
    const rows = await this.#c.db
      .select()
      .from(outbox)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(outbox.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return {
      notifications: page.map((r) => ({
        id: r.id,
        kind: r.kind,
        accountId: r.accountId,
        address: r.address,
        status: r.status,
        attempts: r.attempts,
        createdAt: r.createdAt.toISOString(),
        nextAttemptAt: r.status === 'pending' ? r.nextAttemptAt.toISOString() : null,
        settledAt: r.settledAt?.toISOString() ?? null,
        providerMessageId: r.providerMessageId,
        lastError: r.lastError,
      })),
      nextCursor: rows.length > limit ? page.at(-1)!.id : null,
    };
  }

  /** For GET /health: how many are waiting, have failed for good, and addresses bouncing. */
  async counts(): Promise<{ pending: number; failed: number; bouncing: number }> {
    const byStatus = await this.#c.db
      .select({ status: outbox.status, n: count() })
      .from(outbox)
      .where(inArray(outbox.status, ['pending', 'failed']))
      .groupBy(outbox.status);
    const [b] = await this.#c.db.select({ n: count() }).from(addresses);
    const of = (s: string) => Number(byStatus.find((r) => r.status === s)?.n ?? 0);
    return { pending: of('pending'), failed: of('failed'), bouncing: Number(b?.n ?? 0) };
  }

  /**
   * Queues failed notifications again (`hf-notify retry --failed`). Those to a bouncing address stay
   * failed unless `includeBouncing`, which also clears those addresses' marks. Returns how many.
   */
  async retryFailed(o: { includeBouncing?: boolean } = {}): Promise<number> {
    const failed = await this.#c.db.select({ id: outbox.id, address: outbox.address }).from(outbox).where(eq(outbox.status, 'failed'));
    if (!failed.length) return 0;
    const bouncing = await this.#bouncing(addressesOf(failed));
    if (o.includeBouncing && bouncing.size) await this.#c.db.delete(addresses).where(inArray(addresses.address, [...bouncing]));
    const ids = failed.filter((r) => o.includeBouncing || !r.address || !bouncing.has(normalizeAddress(r.address))).map((r) => r.id);
    const now = this.#now();
    for (let i = 0; i < ids.length; i += 1000) {
      await this.#c.db
        .update(outbox)
        .set({ status: 'pending', attempts: 0, nextAttemptAt: now, settledAt: null, lastError: null })
        .where(and(inArray(outbox.id, ids.slice(i, i + 1000)), eq(outbox.status, 'failed')));
    }
    if (ids.length) this.#c.onQueued?.();
    return ids.length;
  }

  /**
   * §11: queues one `policy.upcoming` notice per recipient for every material version (not the
   * first, the baseline) that is published and not yet in force, exactly once per account and
   * version across replicas and restarts (a unique key per notice, and `policy_notices` to
   * resume). A version whose notices were never queued and which takes effect in less than 14 days
   * can no longer be announced in time: this throws naming it (at startup: startup stops).
   * `recipients(after)` pages the accounts to tell, in a stable order, after the id given.
   */
  async schedulePolicyNotices(
    versions: readonly PolicyVersion[],
    recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>,
    o: { policyUrl: string },
  ): Promise<{ version: string; queued: number }[]> {
    const now = this.#now();
    const sorted = [...versions].map((v) => ({ ...v, publishedAt: new Date(v.publishedAt), effectiveAt: new Date(v.effectiveAt) })).sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime());
    const done: { version: string; queued: number }[] = [];
    for (const v of sorted.slice(1)) {
      if (!v.material || v.effectiveAt <= now || v.publishedAt > now) continue;
      const [state] = await this.#c.db.select().from(policyNotices).where(eq(policyNotices.version, v.version));
      if (state?.completedAt) continue;
      if (!state) {
        const days = (v.effectiveAt.getTime() - now.getTime()) / DAY;
        if (days < NOTICE_DAYS) throw noticeTooLate(v.version, days);
        await this.#c.db.insert(policyNotices).values({ version: v.version, effectiveAt: v.effectiveAt, startedAt: now }).onConflictDoNothing();
      }
      let queued = 0;
      let after: string | null = null;
      const effectiveDate = v.effectiveAt.toISOString().slice(0, 10);
      for (;;) {
        const page = await recipients(after);
        if (!page.length) break;
        const rows = page
          .filter((r) => r.address)
          .map((r) => ({
            id: uuidv7(now.getTime()),
            kind: 'policy.upcoming',
            accountId: r.accountId,
            address: r.address,
            data: { name: r.name || 'there', businessName: r.businessName || 'your account', version: v.version, effectiveDate, policyUrl: o.policyUrl },
            dedupeKey: `policy.upcoming:${v.version}:${r.accountId}`,
            nextAttemptAt: now,
            createdAt: now,
          }));
        if (rows.length) queued += (await this.#c.db.insert(outbox).values(rows).onConflictDoNothing().returning({ id: outbox.id })).length;
        after = page.at(-1)!.accountId;
      }
      await this.#c.db
        .update(policyNotices)
        .set({ completedAt: this.#now(), recipients: sql`${policyNotices.recipients} + ${queued}` })
        .where(eq(policyNotices.version, v.version));
      if (queued) this.#c.onQueued?.();
      done.push({ version: v.version, queued });
    }
    return done;
  }

  /** A subject's notifications and preferences (personal-data export). */
  async exportSubject(where: { accountId: string } | { email: string }) {
    const rows = await this.#c.db
      .select({ id: outbox.id, kind: outbox.kind, address: outbox.address, data: outbox.data, status: outbox.status, createdAt: outbox.createdAt, settledAt: outbox.settledAt })
      .from(outbox)
      .where(subjectRows(where))
      .orderBy(asc(outbox.id));
    const prefs = 'accountId' in where ? await this.preferences(where.accountId) : {};
    const mine = 'email' in where ? [normalizeAddress(where.email)] : addressesOf(rows);
    const bouncing = mine.length ? await this.#c.db.select({ address: addresses.address, since: addresses.since }).from(addresses).where(inArray(addresses.address, mine)) : [];
    return { notifications: rows, preferences: prefs, bouncing };
  }

  /**
   * Erases a subject's notifications, preferences and bounce marks. A pending notice about the
   * erasure itself (KEEP_UNTIL_SENT) is kept, flagged, and deleted once it is sent: it is reported
   * as kept, with the reason.
   */
  async eraseSubject(where: { accountId: string } | { email: string }): Promise<{ erased: number; kept: { count: number; reason: string }[] }> {
    const rows = await this.#c.db.select({ id: outbox.id, kind: outbox.kind, status: outbox.status, address: outbox.address }).from(outbox).where(subjectRows(where));
    const keep = rows.filter((r) => r.status === 'pending' && KEEP_UNTIL_SENT.includes(r.kind)).map((r) => r.id);
    const remove = rows.filter((r) => !keep.includes(r.id)).map((r) => r.id);
    let erased = 0;
    for (let i = 0; i < remove.length; i += 1000) {
      const chunk = remove.slice(i, i + 1000);
      await this.#c.db.delete(attempts).where(inArray(attempts.notificationId, chunk));
      erased += (await this.#c.db.delete(outbox).where(inArray(outbox.id, chunk)).returning({ id: outbox.id })).length;
    }
    if (keep.length) await this.#c.db.update(outbox).set({ eraseAfterSend: true }).where(inArray(outbox.id, keep));
    await this.#c.transport.forget?.(remove);
    if ('accountId' in where) erased += (await this.#c.db.delete(preferences).where(eq(preferences.accountId, where.accountId)).returning({ k: preferences.kind })).length;
    const mine = 'email' in where ? [normalizeAddress(where.email)] : addressesOf(rows);
    if (mine.length) erased += (await this.#c.db.delete(addresses).where(inArray(addresses.address, mine)).returning({ a: addresses.address })).length;
    return { erased, kept: keep.length ? [{ count: keep.length, reason: 'notify: notices about this request, not yet sent; deleted once sent' }] : [] };
  }

  /** Settled rows created before `before` (the outbox's retention, 30 days), held accounts' kept. Returns how many (a dry run: would). */
  async purgeSettled(before: Date, limit = 1000, held: readonly string[] = [], dryRun = false): Promise<number> {
    const where = and(inArray(outbox.status, ['sent', 'failed', 'suppressed']), lt(outbox.createdAt, before), held.length ? sql`coalesce(${outbox.accountId}, '') not in (${sql.join(held.map((h) => sql`${h}`), sql`, `)})` : undefined);
    if (dryRun) return Number((await this.#c.db.select({ n: count() }).from(outbox).where(where))[0]?.n ?? 0);
    const old = await this.#c.db
      .select({ id: outbox.id })
      .from(outbox)
      .where(where)
      .limit(limit);
    if (!old.length) return 0;
    const ids = old.map((r) => r.id);
    await this.#c.db.delete(attempts).where(inArray(attempts.notificationId, ids));
    return (await this.#c.db.delete(outbox).where(inArray(outbox.id, ids)).returning({ id: outbox.id })).length;
  }
}
