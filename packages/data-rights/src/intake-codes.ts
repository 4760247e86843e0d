/**
 * The codes of requests from people without an API key (issue 32): a form's request, opened once the
 * code emailed to its address is entered, and a request read from the privacy mailbox, verified by one.
 *
 * Codes: six digits, kept as an HMAC (a key derived from `subjectKey`), 10 minutes, 5 tries; a try
 * is counted in the statement that checks the tries left and the expiry, so concurrent guesses get
 * no more than five between them; the comparison is constant-time; the code that matches claims
 * the row (`verified_at`) before the request is filed or verified, and a crash in between is
 * finished by the next sweep. The base of `Intake` (intake.ts), which adds the mailbox.
 */
import { isE164, uuidv7 } from '@harakaflow/core';
import { and, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { CodeAttempts, CodeExpired, CodeInvalid, InvalidRequest, InvalidTransition } from './errors.js';
import { fileRequest } from './filing.js';
import { DAY, type Ledger } from './ledger.js';
import { getRequest, verifyRequest } from './request-admin.js';
import { requests, verifications } from './schema.js';
import { checkLanguage, EMAIL_ADDRESS } from './subject.js';
import { REQUEST_KINDS, type FilingKind, type RightsRequest } from './types.js';

export const CODE_TTL_MS = 10 * 60_000;
export const CODE_TRIES = 5;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What a request verified by its emailed code records as its verification. */
export const CODE_VERIFICATION = 'a code emailed to the address, entered within 10 minutes';

type Verification = typeof verifications.$inferSelect;

export class RequestCodes {
  readonly #l: Ledger;
  readonly #codeKey: Buffer;

  constructor(ledger: Ledger) {
    this.#l = ledger;
    this.#codeKey = createHmac('sha256', ledger.c.subjectKey).update('harakaflow data-rights request codes').digest();
  }

  get #db() {
    return this.#l.c.db;
  }

  #digest(id: string, code: string): Buffer {
    return createHmac('sha256', this.#codeKey).update(`${id}:${code}`).digest();
  }

  /**
   * A form's request (`POST /v1/privacy/public-requests`): kept until its code is entered, then
   * filed with the clock running from now. The answer is the same whoever the address belongs to.
   */
  async submit(input: {
    email: unknown;
    kind: unknown;
    contact?: unknown;
    details?: unknown;
    lang?: unknown;
  }): Promise<{ id: string }> {
    if (typeof input.email !== 'string' || input.email.length > 254 || !EMAIL_ADDRESS.test(input.email))
      throw new InvalidRequest('email is an email address');
    if (!(REQUEST_KINDS as readonly unknown[]).includes(input.kind))
      throw new InvalidRequest(`kind must be one of ${REQUEST_KINDS.join(', ')}`);
    if (input.contact != null && !isE164(input.contact))
      throw new InvalidRequest('A contact is an E.164 phone number (+ and at most 15 digits)');
    if (input.details != null && (typeof input.details !== 'string' || input.details.length > 2000))
      throw new InvalidRequest('details is text of at most 2000 characters');
    const lang = checkLanguage(input.lang);
    const now = this.#l.now();
    const id = uuidv7(now.getTime());
    await this.#db.insert(verifications).values({
      requestId: id,
      address: input.email.toLowerCase(),
      pending: {
        kind: input.kind as FilingKind,
        contact: (input.contact as string | undefined) ?? null,
        details: (input.details as string | undefined) || null,
        ...(lang ? { lang } : {}),
      },
      receivedAt: now,
    });
    return { id };
  }

  /**
   * A new code for a request waiting for one (a form's, or one read from the mailbox and not yet
   * verified), made when its message is sent: the previous one stops working. Null when nothing
   * waits for a code (verified, expired, unknown).
   */
  async issueCode(id: string): Promise<{ code: string; expiresAt: Date; address: string; kind: string } | null> {
    if (typeof id !== 'string' || !UUID.test(id)) return null;
    const now = this.#l.now();
    const [row] = await this.#db
      .select()
      .from(verifications)
      .where(and(eq(verifications.requestId, id), isNull(verifications.verifiedAt)));
    if (!row || row.receivedAt.getTime() <= now.getTime() - this.#l.c.verifyWithinDays * DAY) return null;
    let kind: string = row.pending?.kind ?? '';
    if (!row.pending) {
      const request = await this.#l.row(id);
      if (!request || request.status !== 'open' || request.verification !== null) return null;
      kind = request.kind;
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = new Date(now.getTime() + CODE_TTL_MS);
    const [issued] = await this.#db
      .update(verifications)
      .set({
        codeHash: this.#digest(id, code).toString('base64url'),
        codeExpiresAt: expiresAt,
        attempts: 0,
        codesSent: sql`${verifications.codesSent} + 1`,
      })
      .where(and(eq(verifications.requestId, id), isNull(verifications.verifiedAt)))
      .returning({ address: verifications.address });
    return issued ? { code, expiresAt, address: issued.address, kind } : null;
  }

  /**
   * The address a request waiting for a code sends it to, or null (nothing waits): for the message that carries a new
   * code, never shown.
   */
  async waitingAddress(id: string): Promise<string | null> {
    return (await this.waiting(id))?.address ?? null;
  }

  /**
   * A request waiting for a code: the address the code goes to, and the language it was asked in
   * (the form's; a request read from the mailbox: its own, if one was recorded), with a form's kind
   * and contact (null for one read from the mailbox), or null (nothing waits).
   */
  async waiting(
    id: string,
  ): Promise<{ address: string; lang: string | null; kind: FilingKind | null; contact: string | null } | null> {
    if (typeof id !== 'string' || !UUID.test(id)) return null;
    const now = this.#l.now();
    const [row] = await this.#db
      .select({ address: verifications.address, pending: verifications.pending, lang: requests.lang })
      .from(verifications)
      .leftJoin(requests, eq(requests.id, verifications.requestId))
      .where(
        and(
          eq(verifications.requestId, id),
          isNull(verifications.verifiedAt),
          sql`${verifications.receivedAt} > ${new Date(now.getTime() - this.#l.c.verifyWithinDays * DAY).toISOString()}::timestamptz`,
        ),
      );
    // A form's request also says what it asks and the number it is about (kept until its code is entered).
    return row
      ? {
          address: row.address,
          lang: row.pending?.lang ?? row.lang ?? null,
          kind: row.pending?.kind ?? null,
          contact: row.pending?.contact ?? null,
        }
      : null;
  }

  /**
   * The code entered: the request opens (a form's: filed, the clock running from its submission)
   * or is verified (one read from the mailbox). HF_DATA_RIGHTS_CODE_INVALID (wrong, or no code
   * waits for this id), _EXPIRED (10 minutes) or _ATTEMPTS (5 tries). `lang`: the language of the
   * page it was entered on, kept for a request read from the mailbox that has none yet (a form's
   * keeps the one it was filled in).
   */
  async confirm(id: string, code: unknown, o: { lang?: unknown } = {}): Promise<RightsRequest> {
    const typed = typeof code === 'string' ? code.replace(/[\s-]/g, '') : '';
    if (typeof id !== 'string' || !UUID.test(id) || !/^\d{6}$/.test(typed)) throw new CodeInvalid();
    const lang = checkLanguage(o.lang);
    const now = this.#l.now();
    const [tried] = await this.#db
      .update(verifications)
      .set({ attempts: sql`${verifications.attempts} + 1` })
      .where(
        and(
          eq(verifications.requestId, id),
          isNull(verifications.verifiedAt),
          isNotNull(verifications.codeHash),
          sql`${verifications.attempts} < ${CODE_TRIES}`,
          sql`${verifications.codeExpiresAt} > ${now.toISOString()}::timestamptz`,
        ),
      )
      .returning();
    if (!tried) {
      const [row] = await this.#db.select().from(verifications).where(eq(verifications.requestId, id));
      if (!row?.codeHash || row.verifiedAt) throw new CodeInvalid();
      throw row.attempts >= CODE_TRIES ? new CodeAttempts() : new CodeExpired();
    }
    const expected = Buffer.from(tried.codeHash!, 'base64url');
    const given = this.#digest(id, typed);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw new CodeInvalid();
    const [claimed] = await this.#db
      .update(verifications)
      .set({ verifiedAt: now })
      .where(
        and(
          eq(verifications.requestId, id),
          isNull(verifications.verifiedAt),
          eq(verifications.codeHash, tried.codeHash!),
        ),
      )
      .returning();
    if (!claimed) throw new CodeInvalid();
    // Before it is verified: the message that says so is written in it.
    if (lang && !claimed.pending)
      await this.#db
        .update(requests)
        .set({ lang })
        .where(and(eq(requests.id, id), isNull(requests.lang)));
    return this.#complete(claimed);
  }

  /**
   * Files or verifies the request of a claimed row, then forgets the row (idempotent: the sweep finishes a crashed
   * one).
   */
  async #complete(row: Verification): Promise<RightsRequest> {
    let done: RightsRequest;
    if (row.pending) {
      // Account holders are matched by their verified address: the request is then about the account.
      const accountId = (await this.#l.c.accountByEmail?.(row.address)) ?? null;
      done = await fileRequest(this.#l, {
        id: row.requestId,
        receivedAt: row.receivedAt,
        kind: row.pending.kind,
        subject: accountId ? { kind: 'account', accountId } : { kind: 'email', email: row.address },
        filedBy: 'self',
        verification: CODE_VERIFICATION,
        details: row.pending.details,
        contact: row.pending.contact,
        lang: row.pending.lang ?? null,
        replyTo: row.address,
      });
    } else {
      try {
        done = await verifyRequest(this.#l, row.requestId, CODE_VERIFICATION, 'self');
      } catch (error) {
        // Verified meanwhile (by the admin, or the crashed attempt this sweep finishes): as it is.
        if (!(error instanceof InvalidTransition)) throw error;
        done = await getRequest(this.#l, row.requestId);
      }
    }
    await this.#db.delete(verifications).where(eq(verifications.requestId, row.requestId));
    return done;
  }

  /** A request read from the mailbox, not verified yet, will take a code sent to `address`. */
  protected async expectCode(requestId: string, address: string, receivedAt: Date): Promise<void> {
    await this.#db
      .insert(verifications)
      .values({ requestId, address, pending: null, receivedAt })
      .onConflictDoNothing();
  }

  /**
   * Finishes codes claimed by a crashed attempt (a minute on), forgets the requests nobody
   * verified within `verifyWithinDays` (a form's never opened; a mailbox one expires with its
   * request, checkDeadlines), and the codes of requests verified or closed otherwise. Returns rows handled.
   */
  async sweep(): Promise<number> {
    const now = this.#l.now();
    const stuck = await this.#db
      .select()
      .from(verifications)
      .where(and(isNotNull(verifications.verifiedAt), lt(verifications.verifiedAt, new Date(now.getTime() - 60_000))))
      .limit(50);
    for (const row of stuck) await this.#complete(row);
    const expired = await this.#db
      .delete(verifications)
      .where(
        and(
          isNull(verifications.verifiedAt),
          lt(verifications.receivedAt, new Date(now.getTime() - this.#l.c.verifyWithinDays * DAY)),
        ),
      )
      .returning({ id: verifications.requestId });
    const settled = await this.#db
      .delete(verifications)
      .where(
        and(
          isNull(verifications.pending),
          isNull(verifications.verifiedAt),
          // Only once its request exists: a mailbox request's row is written just before the request is filed.
          sql`exists (select 1 from ${requests} r where r.id = ${verifications.requestId} and not (r.status = 'open' and r.verification is null))`,
        ),
      )
      .returning({ id: verifications.requestId });
    return stuck.length + expired.length + settled.length;
  }
}
