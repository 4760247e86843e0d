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
import { securityEvent } from '@harakaflow/core';
import type { RightsRequest } from '@harakaflow/data-rights';
import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { randomInt } from 'node:crypto';
import { contactRequests, forwardedRequests } from '../data/schema.js';
import { answer, erasureDone, getForwarded, type Answer } from './contact-answers.js';
import type { ContactContext, ContactRequestsOptions } from './contact-context.js';
import type { Forwarded, ForwardedStatus } from './contact-forwarded.js';
import { announce, forwardProved } from './contact-forwarding.js';
import { digest, PROOF_TTL_MS } from './contact-proof.js';
import { checkDeadlines, runContactJobs, sweep } from './contact-upkeep.js';

export type { ContactRequestsOptions } from './contact-context.js';
export { ERASABLE_KINDS, FORWARDED_STATUSES, forwardedView, type ForwardedStatus } from './contact-forwarded.js';
export { confirmRequest, issueProof, PHONE_CODE_LIMITS } from './contact-intake.js';
export { codeIn, maskPhone, PROOF_TTL_MS, proofCodeKey, textMessages } from './contact-proof.js';
export { runContactJobs } from './contact-upkeep.js';

export class ContactRequests {
  readonly #ctx: ContactContext;

  constructor(app: FastifyInstance, o: ContactRequestsOptions) {
    this.#ctx = { app, o, db: o.db, now: () => new Date((o.now ?? Date.now)()) };
  }

  get #db() {
    return this.#ctx.db;
  }

  #now(): Date {
    return this.#ctx.now();
  }

  get whatsappNumber(): string | undefined {
    return this.#ctx.o.whatsappNumber;
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
      .set({ codeHash: digest(this.#ctx.o.codeKey, phone, code), codeExpiresAt: expiresAt })
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
    const done = await forwardProved(this.#ctx, phone, code);
    if (!done) return null;
    await securityEvent(this.#ctx.app, request, {
      action: 'privacy.contact.proved',
      resource: `rights-request:${done.requestId}`,
      outcome: 'success',
      details: { forwarded: done.forwarded },
      durability: 'sync',
    });
    await this.announce(done.requestId);
    return done.requestId;
  }

  /**
   * Queues what a forwarding says and has not said yet: each account's email, the person's count. Exactly once each
   * (dedupe keys).
   */
  announce(requestId: string): Promise<void> {
    return announce(this.#ctx, requestId);
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

  get(accountId: string, id: string): Promise<Forwarded | null> {
    return getForwarded(this.#ctx, accountId, id);
  }

  /**
   * The account's answer to an open forwarded request: `missing` (not this account's), `answered`
   * (answered before), `not-erasable` (erase on a kind it would defeat), else the row as it now is.
   * A fulfilment or a denial is told to the person at once; an erasure once its receipt exists.
   */
  answer(
    accountId: string,
    id: string,
    a: Answer,
    request?: FastifyRequest,
  ): Promise<Forwarded | 'missing' | 'answered' | 'not-erasable'> {
    return answer(this.#ctx, accountId, id, a, request);
  }

  /**
   * A contact's deletion ended (data-rights' update): the forwarded request it answers is erased,
   * its receipt told to the person; one canceled or denied (by the admin, or the account's own
   * cancel before the purge) puts the forwarded request back to `open`, for the account to answer again.
   */
  erasureDone(request: RightsRequest): Promise<Forwarded | null> {
    return erasureDone(this.#ctx, request);
  }

  /**
   * What a crash left half-done, a minute on: forwardings not announced, outcomes not told, an
   * erasure not filed (filed again: data-rights answers an open deletion of the same contact with
   * itself) or finished without its update reaching here. Returns rows handled.
   */
  sweep(): Promise<number> {
    return sweep(this.#ctx);
  }

  /**
   * The deadline alerts of open forwarded requests (issue 32 item 3: "like any other"), each raised
   * once across replicas: the row is marked in the statement that finds it.
   */
  checkDeadlines(): Promise<{ dueSoon: number; overdue: number }> {
    return checkDeadlines(this.#ctx);
  }
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
