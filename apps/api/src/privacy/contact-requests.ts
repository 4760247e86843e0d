/**
 * Contacts' requests, routed to the businesses that hold them (issue 32 item 3). Most people whose
 * data the service processes are its customers' WhatsApp contacts (§1): for their data HarakaFlow
 * is the processor, each account the controller. A request made with the public form about a phone
 * number goes to those accounts only once the person proves the number is theirs:
 *
 * 1. The form's request is confirmed by its emailed code; the request page then shows a code
 *    (`HF-123456`, 30 minutes) to send from that WhatsApp number to the service's privacy number
 *    (PRIVACY_WHATSAPP_NUMBER). Codes asked are limited per client IP and per number.
 * 2. Meta's inbound webhook (signature verified before parsing) hands every text message here: a
 *    code that matches a request waiting for that number (the sender as Meta reports it) proves it.
 *    Messages matched are limited per number.
 * 3. In the transaction that records the proof, the request is passed to every account whose data
 *    holds the number (the message log), not being deleted: a `forwarded_requests` row each, with
 *    its own due date, and a `privacy.request.forwarded` webhook event written with it. The account's
 *    email and the person's ("passed to N businesses") follow, exactly once each (dedupe keys), and a
 *    minute's sweep sends what a crash left unsent.
 * 4. The account answers: fulfil (a note), deny (a reason) or erase (the service files the contact's
 *    deletion from the account's data; the signed receipt goes to the person). The person hears each
 *    outcome, without the business's name unless the account chooses to give it.
 * 5. Open forwarded requests alert the admin when due soon and when overdue, once each across
 *    replicas, as other requests do (operator rows in app.notifications, and the log).
 *
 * Never logged: the number, the address, the code, a note. The audit log gets ids and counts.
 */
import { errorCodes, securityEvent, uuidv7 } from '@harakaflow/core';
import type { Receipt, RightsRequest } from '@harakaflow/data-rights';
import type { Database } from '@harakaflow/db';
import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ContactAlreadyProved,
  ContactCodeLimit,
  ContactRequestNotFound,
  WhatsappNotConfigured,
} from '../http/errors.js';
import { utcMinute } from '../data/dates.js';
import { everyInterval } from '../wiring/jobs.js';
import { receiptParts } from './notices.js';
import fp from 'fastify-plugin';
import { createHmac, randomInt } from 'node:crypto';
import { accounts, contactRequests, forwardedRequests, messageLog, notifications } from '../data/schema.js';

const DAY = 86_400_000;
/** A WhatsApp code works this long. */
export const PROOF_TTL_MS = 30 * 60_000;
/** How the code looks in a message: HF-123456 (the dash, a space or nothing; any case). */
const CODE_IN_TEXT = /(?:^|[^A-Za-z0-9])HF[-\s]?(\d{6})(?![0-9])/i;
/** The six digits of the code a message carries, or null. */
export function codeIn(text: string): string | null {
  return CODE_IN_TEXT.exec(text.slice(0, 4096))?.[1] ?? null;
}
/** The kinds an account may answer by erasing the contact (erasing an access request would destroy what was asked for). */
export const ERASABLE_KINDS: readonly string[] = ['deletion', 'objection', 'withdraw_consent'];
export const FORWARDED_STATUSES = ['open', 'erasing', 'fulfilled', 'denied', 'erased'] as const;
export type ForwardedStatus = (typeof FORWARDED_STATUSES)[number];
type Forwarded = typeof forwardedRequests.$inferSelect;
type Contact = typeof contactRequests.$inferSelect;

/** The key of the WhatsApp codes' HMACs, derived from DATA_RIGHTS_SUBJECT_KEY. */
export function proofCodeKey(secret: string | Buffer): Buffer {
  return createHmac('sha256', secret).update('harakaflow contact proof codes').digest();
}
const digest = (key: Buffer, phone: string, code: string) =>
  createHmac('sha256', key).update(`${phone}:${code}`).digest('base64url');

/** A number as the page shows it: the country code and the last three digits. */
export function maskPhone(phone: string): string {
  return phone.length <= 7 ? phone : `${phone.slice(0, 4)}${'•'.repeat(phone.length - 7)}${phone.slice(-3)}`;
}

/** A forwarded request as its account sees it (`GET /v1/privacy/forwarded`). */
export function forwardedView(r: Forwarded) {
  return {
    id: r.id,
    kind: r.kind,
    phone: r.phone,
    status: r.status,
    receivedAt: r.createdAt.toISOString(),
    dueAt: r.dueAt.toISOString(),
    answeredAt: r.answeredAt?.toISOString() ?? null,
    note: r.note,
    disclose: r.disclose,
    erasureRequestId: r.erasureRequestId,
    receipt: (r.receipt as Record<string, unknown> | null) ?? null,
  };
}

export interface ContactRequestsOptions {
  db: Database;
  codeKey: Buffer;
  /** PRIVACY_WHATSAPP_NUMBER: where codes are sent; undefined, no code is given (503). */
  whatsappNumber: string | undefined;
  /** Days an account has to answer (DATA_RIGHTS_DUE_DAYS). */
  dueDays: number;
  /** The due-soon alert comes this many days before the due date. */
  dueSoonDays: number;
  /** The published JWK set, named in the person's erasure receipt. */
  keysUrl: string;
  now?: () => number;
}

type Answer =
  | { action: 'fulfil'; note?: string | undefined; disclose?: boolean | undefined }
  | { action: 'deny'; reason: string; disclose?: boolean | undefined }
  | { action: 'erase'; disclose?: boolean | undefined };

export class ContactRequests {
  readonly #app: FastifyInstance;
  readonly #o: ContactRequestsOptions;

  constructor(app: FastifyInstance, o: ContactRequestsOptions) {
    this.#app = app;
    this.#o = o;
  }

  get #db() {
    return this.#o.db;
  }

  #now(): Date {
    return new Date((this.#o.now ?? Date.now)());
  }

  get whatsappNumber(): string | undefined {
    return this.#o.whatsappNumber;
  }

  /** A form request about a number waits for its proof (idempotent); written as its code is entered. */
  async open(input: {
    requestId: string;
    phone: string;
    address: string;
    kind: string;
    lang?: string | null | undefined;
  }): Promise<void> {
    await this.#db
      .insert(contactRequests)
      .values({
        requestId: input.requestId,
        phone: input.phone,
        address: input.address.toLowerCase(),
        kind: input.kind,
        lang: input.lang ?? null,
        createdAt: this.#now(),
      })
      .onConflictDoNothing();
  }

  /** The request's contact step as its page shows it, or null (no such request about a number). */
  async state(
    requestId: string,
  ): Promise<{ phone: string; proved: boolean; forwarded: number | null; codeExpiresAt: Date | null } | null> {
    // Only once its request exists: the row is written just before the emailed code is entered.
    const [row] = await this.#db
      .select()
      .from(contactRequests)
      .where(
        and(
          eq(contactRequests.requestId, requestId),
          sql`exists (select 1 from data_rights.requests r where r.id = ${contactRequests.requestId})`,
        ),
      );
    return row
      ? { phone: row.phone, proved: row.provedAt !== null, forwarded: row.forwarded, codeExpiresAt: row.codeExpiresAt }
      : null;
  }

  /**
   * A new code for the request's number, `phone` as its state() gave it (the previous code stops
   * working): `missing` (no request about a number waits here), `proved` (done already), else the
   * code, to show on the page only.
   */
  async issueCode(
    requestId: string,
    phone: string,
  ): Promise<{ code: string; phone: string; expiresAt: Date } | 'missing' | 'proved'> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = new Date(this.#now().getTime() + PROOF_TTL_MS);
    const [issued] = await this.#db
      .update(contactRequests)
      .set({ codeHash: digest(this.#o.codeKey, phone, code), codeExpiresAt: expiresAt })
      .where(
        and(
          eq(contactRequests.requestId, requestId),
          eq(contactRequests.phone, phone),
          isNull(contactRequests.provedAt),
        ),
      )
      .returning({ phone: contactRequests.phone });
    if (issued) return { code: `HF-${code}`, phone: issued.phone, expiresAt };
    // Proved (or gone) since its state was read.
    const [row] = await this.#db
      .select({ provedAt: contactRequests.provedAt })
      .from(contactRequests)
      .where(eq(contactRequests.requestId, requestId));
    return row ? 'proved' : 'missing';
  }

  /**
   * The code (its six digits, `codeIn`) a text message from `phone` (E.164) to the privacy number
   * carried: when it is the code of a request waiting for that number, the number is proved and the
   * request forwarded. Returns the request id, or null (no match, expired).
   */
  async receiveMessage(phone: string, code: string, request?: FastifyRequest): Promise<string | null> {
    const now = this.#now();
    const hash = digest(this.#o.codeKey, phone, code);
    const done = await this.#db.transaction(async (tx) => {
      const waiting = and(
        eq(contactRequests.phone, phone),
        isNull(contactRequests.provedAt),
        eq(contactRequests.codeHash, hash),
        sql`${contactRequests.codeExpiresAt} > ${now.toISOString()}::timestamptz`,
      );
      // One request per code: two waiting for the number with the same code (one in a million) prove the older one.
      const [hit] = await tx
        .select({ requestId: contactRequests.requestId })
        .from(contactRequests)
        .where(waiting)
        .orderBy(asc(contactRequests.createdAt))
        .limit(1);
      if (!hit) return null;
      const [proved] = await tx
        .update(contactRequests)
        .set({ provedAt: now, codeHash: null, codeExpiresAt: null })
        .where(and(eq(contactRequests.requestId, hit.requestId), waiting))
        .returning();
      if (!proved) return null;
      // Every account whose data holds the number, not being deleted, once each.
      const holders = await tx
        .selectDistinct({ accountId: messageLog.accountId })
        .from(messageLog)
        .innerJoin(accounts, eq(accounts.id, messageLog.accountId))
        .where(and(eq(messageLog.to, phone), isNull(accounts.deletionPendingAt)));
      const dueAt = new Date(now.getTime() + this.#o.dueDays * DAY);
      const rows = holders.map((h) => ({
        id: uuidv7(now.getTime()),
        requestId: proved.requestId,
        accountId: h.accountId,
        phone,
        kind: proved.kind,
        status: 'open' as const,
        dueAt,
        createdAt: now,
      }));
      const written = rows.length
        ? await tx.insert(forwardedRequests).values(rows).onConflictDoNothing().returning()
        : [];
      await tx
        .update(contactRequests)
        .set({ forwarded: written.length })
        .where(eq(contactRequests.requestId, proved.requestId));
      // The webhook event with the row: both or neither.
      for (const r of written)
        await this.#app.webhooks.emit(r.accountId, 'privacy.request.forwarded', webhookData(r), {
          db: tx as unknown as Database,
        });
      return { requestId: proved.requestId, forwarded: written.length };
    });
    if (!done) return null;
    await securityEvent(this.#app, request, {
      action: 'privacy.contact.proved',
      resource: `rights-request:${done.requestId}`,
      outcome: 'success',
      details: { forwarded: done.forwarded },
      durability: 'sync',
    });
    await this.announce(done.requestId);
    return done.requestId;
  }

  /** Queues what a forwarding says and has not said yet: each account's email, the person's count. Exactly once each (dedupe keys). */
  async announce(requestId: string): Promise<void> {
    const pending = await this.#db
      .select()
      .from(forwardedRequests)
      .where(and(eq(forwardedRequests.requestId, requestId), isNull(forwardedRequests.accountToldAt)));
    for (const r of pending) {
      await this.#app.notify.enqueue({
        kind: 'privacy.request.forwarded',
        accountId: r.accountId,
        data: accountData(r),
        dedupeKey: `privacy.request.forwarded:${r.id}`,
      });
      await this.#db
        .update(forwardedRequests)
        .set({ accountToldAt: this.#now() })
        .where(eq(forwardedRequests.id, r.id));
    }
    const [contact] = await this.#db
      .select()
      .from(contactRequests)
      .where(
        and(
          eq(contactRequests.requestId, requestId),
          isNotNull(contactRequests.provedAt),
          isNull(contactRequests.toldAt),
        ),
      );
    if (contact) {
      await this.#app.notify.enqueue({
        kind: 'privacy.contact.forwarded',
        to: contact.address,
        lang: contact.lang,
        data: personData(contact, this.#o.dueDays),
        dedupeKey: `privacy.contact.forwarded:${requestId}`,
      });
      await this.#db
        .update(contactRequests)
        .set({ toldAt: this.#now() })
        .where(eq(contactRequests.requestId, requestId));
    }
  }

  /** The account's forwarded requests, newest first, `limit` at a time (`cursor`: the last id of the previous page). */
  async list(
    accountId: string,
    filter: { status?: ForwardedStatus | undefined; cursor?: string | undefined; limit: number },
  ): Promise<{ forwarded: Forwarded[]; nextCursor: string | null }> {
    const rows = await this.#db
      .select()
      .from(forwardedRequests)
      .where(
        and(
          eq(forwardedRequests.accountId, accountId),
          filter.status ? eq(forwardedRequests.status, filter.status) : undefined,
          filter.cursor ? lt(forwardedRequests.id, filter.cursor) : undefined,
        ),
      )
      .orderBy(desc(forwardedRequests.id))
      .limit(filter.limit + 1);
    const page = rows.slice(0, filter.limit);
    return { forwarded: page, nextCursor: rows.length > filter.limit ? page.at(-1)!.id : null };
  }

  async get(accountId: string, id: string): Promise<Forwarded | null> {
    const [row] = await this.#db
      .select()
      .from(forwardedRequests)
      .where(and(eq(forwardedRequests.id, id), eq(forwardedRequests.accountId, accountId)));
    return row ?? null;
  }

  /**
   * The account's answer to an open forwarded request: `missing` (not this account's), `answered`
   * (answered before), `not-erasable` (erase on a kind it would defeat), else the row as it now is.
   * A fulfilment or a denial is told to the person at once; an erasure once its receipt exists.
   */
  async answer(
    accountId: string,
    id: string,
    a: Answer,
    request?: FastifyRequest,
  ): Promise<Forwarded | 'missing' | 'answered' | 'not-erasable'> {
    const row = await this.get(accountId, id);
    if (!row) return 'missing';
    if (row.status !== 'open') return 'answered';
    if (a.action === 'erase' && !ERASABLE_KINDS.includes(row.kind)) return 'not-erasable';
    const now = this.#now();
    const status = a.action === 'fulfil' ? 'fulfilled' : a.action === 'deny' ? 'denied' : 'erasing';
    const note = a.action === 'fulfil' ? a.note?.trim() || null : a.action === 'deny' ? a.reason.trim() : null;
    // The erasure's id is chosen with the answer: a retry (the sweep, after a crash) files that same request.
    const erasureRequestId = status === 'erasing' ? uuidv7(now.getTime()) : null;
    const [moved] = await this.#db
      .update(forwardedRequests)
      .set({ status, answeredAt: now, note, disclose: a.disclose === true, erasureRequestId })
      .where(
        and(
          eq(forwardedRequests.id, id),
          eq(forwardedRequests.accountId, accountId),
          eq(forwardedRequests.status, 'open'),
        ),
      )
      .returning();
    if (!moved) return 'answered';
    await securityEvent(this.#app, request, {
      action: `privacy.forwarded.${status === 'erasing' ? 'erase' : a.action}`,
      resource: `forwarded-request:${id}`,
      outcome: 'success',
      durability: 'sync',
    });
    if (status === 'erasing') return this.#erase(moved);
    await this.#tellOutcome(moved);
    return moved;
  }

  /** Files the contact's deletion from the account's data (data-rights: erased now, a signed receipt). */
  async #erase(row: Forwarded): Promise<Forwarded> {
    const filed = await this.#app.dataRights.file({
      id: row.erasureRequestId ?? undefined,
      kind: 'deletion',
      subject: { kind: 'contact', accountId: row.accountId, phone: row.phone },
      filedBy: 'self',
      verification: `the number proved by a WhatsApp message from it; forwarded request ${row.id}`,
      details: `forwarded request ${row.id}: the account chose to have the contact erased`,
    });
    // An open deletion of the same contact answers for this one (data-rights files it once).
    const linked =
      filed.id === row.erasureRequestId
        ? row
        : ((
            await this.#db
              .update(forwardedRequests)
              .set({ erasureRequestId: filed.id })
              .where(eq(forwardedRequests.id, row.id))
              .returning()
          )[0] ?? row);
    // Done already (a purge that ran at once, or the request this one joined): settled here.
    return (await this.erasureDone(filed)) ?? linked;
  }

  /**
   * A contact's deletion ended (data-rights' update): the forwarded request it answers is erased,
   * its receipt told to the person; one canceled or denied (by the admin, or the account's own
   * cancel before the purge) puts the forwarded request back to `open`, for the account to answer again.
   */
  async erasureDone(request: RightsRequest): Promise<Forwarded | null> {
    if (request.kind !== 'deletion') return null;
    if (request.status === 'canceled' || request.status === 'denied' || request.status === 'expired') {
      const [reopened] = await this.#db
        .update(forwardedRequests)
        .set({ status: 'open', answeredAt: null, erasureRequestId: null, disclose: false })
        .where(and(eq(forwardedRequests.erasureRequestId, request.id), eq(forwardedRequests.status, 'erasing')))
        .returning();
      return reopened ?? null;
    }
    if (request.status !== 'fulfilled' || !request.receipt) return null;
    const [row] = await this.#db
      .update(forwardedRequests)
      .set({ status: 'erased', receipt: request.receipt as unknown as Record<string, unknown> })
      .where(and(eq(forwardedRequests.erasureRequestId, request.id), eq(forwardedRequests.status, 'erasing')))
      .returning();
    if (row) await this.#tellOutcome(row);
    return row ?? null;
  }

  async #tellOutcome(row: Forwarded): Promise<void> {
    const [contact] = await this.#db.select().from(contactRequests).where(eq(contactRequests.requestId, row.requestId));
    if (contact) {
      const business = row.disclose ? (await this.#businessName(row.accountId)) || null : null;
      await this.#app.notify.enqueue({
        kind: 'privacy.contact.outcome',
        to: contact.address,
        lang: contact.lang,
        data: outcomeData(row, contact, business, this.#o.keysUrl),
        dedupeKey: `privacy.contact.outcome:${row.id}`,
      });
    }
    await this.#db.update(forwardedRequests).set({ personToldAt: this.#now() }).where(eq(forwardedRequests.id, row.id));
  }

  async #businessName(accountId: string): Promise<string> {
    const [a] = await this.#db
      .select({ name: accounts.name, businessName: accounts.businessName })
      .from(accounts)
      .where(eq(accounts.id, accountId));
    // The business name the account gave, never a person's name; none given: not named.
    return a?.businessName?.trim() || '';
  }

  /**
   * What a crash left half-done, a minute on: forwardings not announced, outcomes not told, an
   * erasure not filed (filed again: data-rights answers an open deletion of the same contact with
   * itself) or finished without its update reaching here. Returns rows handled.
   */
  async sweep(): Promise<number> {
    const before = new Date(this.#now().getTime() - 60_000);
    let handled = 0;
    const unannounced = await this.#db
      .selectDistinct({ requestId: contactRequests.requestId })
      .from(contactRequests)
      .leftJoin(forwardedRequests, eq(forwardedRequests.requestId, contactRequests.requestId))
      .where(
        and(
          lt(contactRequests.provedAt, before),
          or(
            isNull(contactRequests.toldAt),
            and(isNotNull(forwardedRequests.id), isNull(forwardedRequests.accountToldAt)),
          ),
        ),
      )
      .limit(50);
    for (const { requestId } of unannounced) {
      await this.#each(requestId, () => this.announce(requestId));
      handled++;
    }
    const untold = await this.#db
      .select()
      .from(forwardedRequests)
      .where(
        and(
          inArray(forwardedRequests.status, ['fulfilled', 'denied', 'erased']),
          isNull(forwardedRequests.personToldAt),
          lt(forwardedRequests.answeredAt, before),
        ),
      )
      .limit(50);
    for (const row of untold) {
      await this.#each(row.id, () => this.#tellOutcome(row));
      handled++;
    }
    const erasing = await this.#db
      .select()
      .from(forwardedRequests)
      .where(and(eq(forwardedRequests.status, 'erasing'), lt(forwardedRequests.answeredAt, before)))
      .orderBy(asc(forwardedRequests.answeredAt))
      .limit(50);
    for (const row of erasing) {
      // One row's failure is logged and the others still run.
      await this.#each(row.id, async () => {
        const request = row.erasureRequestId
          ? await this.#app.dataRights.get(row.erasureRequestId).catch(() => null)
          : null;
        // Never filed (a crash between the answer and the filing): filed now, under the id chosen with the answer.
        if (!request) await this.#erase(row);
        else await this.erasureDone(request);
      });
      handled++;
    }
    return handled;
  }

  async #each(id: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.#app.log.error(
        { err: errorCodes(error), id },
        'privacy: a forwarded request could not be settled; retried in a minute',
      );
    }
  }

  /**
   * The deadline alerts of open forwarded requests (issue 32 item 3: "like any other"), each raised
   * once across replicas: the row is marked in the statement that finds it.
   */
  async checkDeadlines(): Promise<{ dueSoon: number; overdue: number }> {
    const at = this.#now();
    const open = inArray(forwardedRequests.status, ['open', 'erasing']);
    const soon = await this.#db
      .update(forwardedRequests)
      .set({ dueSoonAlertedAt: at })
      .where(
        and(
          open,
          isNull(forwardedRequests.dueSoonAlertedAt),
          lte(forwardedRequests.dueAt, new Date(at.getTime() + this.#o.dueSoonDays * DAY)),
          sql`${forwardedRequests.dueAt} > ${at.toISOString()}::timestamptz`,
        ),
      )
      .returning();
    const late = await this.#db
      .update(forwardedRequests)
      .set({ overdueAlertedAt: at })
      .where(and(open, isNull(forwardedRequests.overdueAlertedAt), lte(forwardedRequests.dueAt, at)))
      .returning();
    for (const [kind, rows] of [
      ['privacy.forwarded.due_soon', soon],
      ['privacy.forwarded.overdue', late],
    ] as const) {
      for (const r of rows) {
        // An operator notification (no account), as data-rights' alerts are.
        await this.#db.insert(notifications).values({
          id: uuidv7(at.getTime()),
          accountId: null,
          kind,
          payload: {
            forwardedId: r.id,
            requestId: r.requestId,
            accountId: r.accountId,
            kind: r.kind,
            dueAt: r.dueAt.toISOString(),
          },
        });
        await securityEvent(this.#app, undefined, {
          action: kind,
          resource: `forwarded-request:${r.id}`,
          outcome: 'failure',
          details: { accountId: r.accountId, dueAt: r.dueAt.toISOString() },
        });
        this.#app.log.warn(
          { forwardedId: r.id, requestId: r.requestId, kind: r.kind, dueAt: r.dueAt.toISOString(), alert: kind },
          `privacy: forwarded request ${kind.endsWith('overdue') ? 'overdue' : 'due within days'}`,
        );
      }
    }
    return { dueSoon: soon.length, overdue: late.length };
  }
}

/** The `privacy.request.forwarded` webhook event's data: what the account must answer, and how. */
function webhookData(r: Forwarded) {
  return {
    forwardedId: r.id,
    kind: r.kind,
    phone: r.phone,
    dueAt: r.dueAt.toISOString(),
    receivedAt: r.createdAt.toISOString(),
  };
}

function accountData(r: Forwarded): Record<string, unknown> {
  return {
    forwardedId: r.id,
    kind: r.kind,
    phone: r.phone,
    dueDate: utcMinute(r.dueAt),
    answerPath: `/v1/privacy/forwarded/${r.id}`,
    listPath: '/v1/privacy/forwarded',
  };
}

function personData(c: Contact, dueDays: number): Record<string, unknown> {
  return { requestId: c.requestId, kind: c.kind, phone: maskPhone(c.phone), count: c.forwarded ?? 0, dueDays };
}

function outcomeData(r: Forwarded, c: Contact, business: string | null, keysUrl: string): Record<string, unknown> {
  const receipt = r.receipt as Receipt | null;
  return {
    requestId: c.requestId,
    kind: r.kind,
    phone: maskPhone(c.phone),
    outcome: r.status,
    note: r.note ?? '',
    business: business ?? '',
    ...(r.status === 'erased' && receipt
      ? {
          // notify writes the summary from its parts, in the message's language.
          receiptParts: receiptParts(receipt),
          receiptJson: JSON.stringify(r.receipt),
          keysUrl,
        }
      : {}),
  };
}

/** Meta's inbound payload: the text messages in it, each with its sender as E.164. Anything else is skipped. */
export function textMessages(body: unknown): { phone: string; text: string; to: string | null }[] {
  const out: { phone: string; text: string; to: string | null }[] = [];
  const entries = (body as { entry?: unknown } | null)?.entry;
  if (!Array.isArray(entries)) return out;
  for (const entry of entries.slice(0, 50)) {
    const changes = (entry as { changes?: unknown } | null)?.changes;
    if (!Array.isArray(changes)) continue;
    for (const change of changes.slice(0, 50)) {
      const value = (change as { value?: { messages?: unknown; metadata?: { display_phone_number?: unknown } } } | null)
        ?.value;
      const messages = value?.messages;
      if (!Array.isArray(messages)) continue;
      // The number it was sent to (digits; Meta may format it): which of the app's numbers received it.
      const shown = value?.metadata?.display_phone_number;
      const to = typeof shown === 'string' && /^[0-9 +()-]{1,32}$/.test(shown) ? `+${shown.replace(/\D/g, '')}` : null;
      for (const m of messages.slice(0, 100)) {
        const msg = m as { from?: unknown; type?: unknown; text?: { body?: unknown } } | null;
        if (msg?.type !== 'text' || typeof msg.from !== 'string' || typeof msg.text?.body !== 'string') continue;
        // Meta's wa_id: the number's digits, without the +.
        if (!/^[1-9][0-9]{1,14}$/.test(msg.from)) continue;
        out.push({ phone: `+${msg.from}`, text: msg.text.body, to });
      }
    }
  }
  return out;
}

/**
 * Enters a public request's emailed code (data-rights' intake); a request about a number then
 * waits for its WhatsApp proof, with the address the person hears at (taken before the code is
 * used: the request forgets it once final).
 */
export async function confirmRequest(
  app: FastifyInstance,
  id: string,
  code: unknown,
  o: { lang?: string | null | undefined } = {},
): Promise<RightsRequest> {
  // Written before the code is used (idempotent), so no crash between the two loses the number's
  // step; it counts only once its request exists (state()). The person hears every step in the
  // language the request was made in.
  const waiting = await app.dataRights.intake.waiting(id);
  if (waiting?.contact && waiting.kind)
    await app.contactRequests.open({
      requestId: id.toLowerCase(),
      phone: waiting.contact,
      address: waiting.address,
      kind: waiting.kind,
      lang: waiting.lang,
    });
  return app.dataRights.intake.confirm(id, code, o);
}

/**
 * Codes asked an hour per request, and per number across requests (each is shown, not sent). The
 * per-request count is the one a person meets; the per-number one is higher, so that others'
 * requests naming a number (each confirmed from an address of its own) do not shut its owner out.
 */
export const PHONE_CODE_LIMITS = {
  perRequest: { name: 'rights.contact.request', points: 5, duration: 3600 },
  perNumber: { name: 'rights.contact.number', points: 30, duration: 3600 },
};

/**
 * A WhatsApp code for a confirmed public request's number, as the page shows it: 503 without a
 * privacy number, 404 without such a request, 409 once proved, 429 past the number's hourly limit
 * (Retry-After set), 503 HF_QUOTA_UNAVAILABLE when its store is out of reach (fail closed).
 */
export async function issueProof(
  app: FastifyInstance,
  id: string,
  reply: FastifyReply,
): Promise<{ code: string; sendTo: string; phone: string; expiresAt: string; whatsappUrl: string }> {
  const to = app.contactRequests.whatsappNumber;
  if (!to) throw new WhatsappNotConfigured();
  const state = await app.contactRequests.state(id);
  if (!state) throw new ContactRequestNotFound();
  if (state.proved) throw new ContactAlreadyProved();
  // quota stores each key as an HMAC, never the number.
  const perRequest = await app.quota.take(PHONE_CODE_LIMITS.perRequest, `rights-contact:${id}`);
  const taken = perRequest.allowed
    ? await app.quota.take(PHONE_CODE_LIMITS.perNumber, `rights-number:${state.phone}`)
    : perRequest;
  if (!taken.allowed) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(taken.resetMs / 1000))));
    throw new ContactCodeLimit();
  }
  const issued = await app.contactRequests.issueCode(id, state.phone);
  if (issued === 'missing') throw new ContactRequestNotFound();
  if (issued === 'proved') throw new ContactAlreadyProved();
  return {
    code: issued.code,
    sendTo: to,
    phone: maskPhone(issued.phone),
    expiresAt: issued.expiresAt.toISOString(),
    whatsappUrl: `https://wa.me/${to.slice(1)}?text=${encodeURIComponent(issued.code)}`,
  };
}

/** The minute's jobs: announcements and outcomes a crash left, and the deadline alerts. */
export function runContactJobs(app: FastifyInstance, intervalMs = 60_000): void {
  everyInterval(
    app,
    intervalMs,
    async () => {
      // Each on its own: a failing sweep never keeps the deadline alerts from running.
      for (const [job, run] of [
        ['sweep', () => app.contactRequests.sweep()],
        ['deadlines', () => app.contactRequests.checkDeadlines()],
      ] as const) {
        try {
          await run();
        } catch (error) {
          app.log.error({ err: errorCodes(error), job }, 'privacy: the forwarded requests job failed');
        }
      }
    },
    { atStartup: false },
  );
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Contacts' requests routed to the accounts that hold their number (issue 32 item 3). */
    contactRequests: ContactRequests;
  }
}

/** Decorates `app.contactRequests` and runs its minute's jobs; after data-rights, notify, webhooks and quota. */
export const contactRequestsPlugin = fp(
  async (app: FastifyInstance, o: ContactRequestsOptions & { intervalMs?: number | undefined }) => {
    app.decorate('contactRequests', new ContactRequests(app, o));
    runContactJobs(app, o.intervalMs);
  },
  { name: 'contact-requests' },
);
