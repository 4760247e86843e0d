/**
 * Requests from people without an API key (issue 32): the codes of a form's request and of one read
 * from the mailbox (intake-codes.ts, the base class), and the messages read from the privacy mailbox,
 * each opening a request (or joining its thread's), with the raw message sealed as evidence.
 */
import { uuidv7 } from '@harakaflow/core';
import { and, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import { classifyRequest } from './classify.js';
import { fileRequest } from './filing.js';
import { RequestCodes, UUID } from './intake-codes.js';
import type { Ledger } from './ledger.js';
import { messages, requests, verifications } from './schema.js';

/** A message read from the privacy mailbox, as the app hands it over (read by notify's readInbound). */
export interface IncomingMessage {
  /** Its mailbox key (`name:uidvalidity:uid`): each is taken once. */
  source: string;
  messageId: string | null;
  /** In-Reply-To and References ids. */
  thread: string[];
  /** When the mailbox received it: the 30-day clock starts there. */
  receivedAt: Date;
  size: number;
  raw: Buffer;
  /** Its sender, or null (no valid From: no request can be opened). */
  from: string | null;
  subject: string;
  text: string;
  /** Why a machine seems to have sent it (nobody is answered), or null. */
  automatic: string | null;
}

export type IntakeOutcome = {
  outcome: 'opened' | 'attached' | 'duplicate' | 'no-sender' | 'taken-before';
  requestId: string | null;
  unanswered: string | null;
};
export class Intake extends RequestCodes {
  readonly #l: Ledger;

  constructor(ledger: Ledger) {
    super(ledger);
    this.#l = ledger;
  }

  get #db() {
    return this.#l.c.db;
  }

  /**
   * A message read from the privacy mailbox, once per `source` (a crash half-way resumes): a reply
   * in a request's thread joins it; a new message opens a request with the clock running from its
   * receipt, its kind read from its subject and text, its sender told (with the code that confirms
   * it) unless `mayAnswer` or `automatic` says not to. The raw message is sealed under its request.
   */
  async receive(m: IncomingMessage, mayAnswer: (address: string) => Promise<string | null>): Promise<IntakeOutcome> {
    const [fresh] = await this.#db
      .insert(messages)
      .values({
        id: uuidv7(m.receivedAt.getTime()),
        direction: 'in',
        messageId: m.messageId,
        source: m.source,
        at: m.receivedAt,
        size: m.size,
      })
      .onConflictDoNothing()
      .returning();
    const row = fresh ?? (await this.#db.select().from(messages).where(eq(messages.source, m.source)))[0]!;
    // Recorded last in each path below: a row with either was taken to its end before.
    if (row.requestId !== null || row.unanswered !== null)
      return { outcome: 'taken-before', requestId: row.requestId, unanswered: row.unanswered };
    if (m.messageId) {
      const [same] = await this.#db
        .select({ requestId: messages.requestId })
        .from(messages)
        .where(
          and(
            eq(messages.messageId, m.messageId),
            eq(messages.direction, 'in'),
            isNotNull(messages.requestId),
            sql`${messages.id} <> ${row.id}`,
          ),
        )
        .limit(1);
      if (same) {
        await this.#db
          .update(messages)
          .set({ requestId: same.requestId, unanswered: 'a copy of a message already received' })
          .where(eq(messages.id, row.id));
        return { outcome: 'duplicate', requestId: same.requestId, unanswered: 'a copy of a message already received' };
      }
    }
    const thread = m.thread.length ? await this.#threadRequest(m.thread) : null;
    if (thread) {
      await this.#seal(thread, row.id, m.raw);
      const at = this.#l.now();
      // The history entry and the message's record together: a crash leaves both or neither.
      const joined = await this.#db.transaction(async (tx) => {
        const [request] = await tx
          .update(requests)
          .set({
            history: sql`${requests.history} || jsonb_build_array(jsonb_build_object('status', ${requests.status}, 'at', ${at.toISOString()}::text, 'by', 'self', 'event', 'message-received'))`,
            updatedAt: at,
          })
          .where(eq(requests.id, thread))
          .returning();
        await tx
          .update(messages)
          .set({ requestId: thread, sealed: this.#l.c.evidence !== undefined })
          .where(eq(messages.id, row.id));
        return request;
      });
      if (joined) await this.#l.event('data_rights.request.message', joined, { automatic: m.automatic !== null });
      return { outcome: 'attached', requestId: thread, unanswered: null };
    }
    if (!m.from) {
      await this.#db
        .update(messages)
        .set({ unanswered: 'no valid From address: no request can be opened' })
        .where(eq(messages.id, row.id));
      return { outcome: 'no-sender', requestId: null, unanswered: 'no valid From address' };
    }
    // Nobody is answered: a machine's message, or a sender past its answers for the day (the
    // request is opened all the same; the admin sees why in the message's record).
    const unanswered = m.automatic ?? (await mayAnswer(m.from));
    const kind = classifyRequest(`${m.subject}\n${m.text}`);
    const accountId = (await this.#l.c.accountByEmail?.(m.from)) ?? null;
    // Before the request (and its 'received' message): that message's code is made from this row when it is sent.
    if (!unanswered) await this.expectCode(row.id, m.from, m.receivedAt);
    const filed = await fileRequest(this.#l, {
      id: row.id,
      receivedAt: m.receivedAt,
      kind,
      subject: accountId ? { kind: 'account', accountId } : { kind: 'email', email: m.from },
      filedBy: 'admin',
      verification: null,
      details: `Emailed to the privacy mailbox${m.subject ? `, subject: ${m.subject.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`,
      replyTo: unanswered ? false : m.from,
      silent: unanswered !== null,
    });
    // A second deletion of the same subject while one is open is that one (file answers it): the
    // message joins it, and the code waits on it alone.
    if (filed.id !== row.id)
      await this.#db
        .delete(verifications)
        .where(and(eq(verifications.requestId, row.id), isNull(verifications.pending)));
    await this.#seal(filed.id, row.id, m.raw);
    await this.#db
      .update(messages)
      .set({ requestId: filed.id, unanswered, sealed: this.#l.c.evidence !== undefined })
      .where(eq(messages.id, row.id));
    return { outcome: filed.id === row.id ? 'opened' : 'attached', requestId: filed.id, unanswered };
  }

  async #seal(requestId: string, messageRowId: string, raw: Buffer): Promise<void> {
    await this.#l.c.evidence?.put(requestId, `message-${messageRowId}`, raw);
  }

  /** The request of the newest message of the thread we know (a message received, or a notification sent). */
  async #threadRequest(ids: string[]): Promise<string | null> {
    const [hit] = await this.#db
      .select({ requestId: messages.requestId })
      .from(messages)
      .innerJoin(requests, eq(requests.id, messages.requestId))
      .where(inArray(messages.messageId, ids.slice(0, 50)))
      .orderBy(desc(messages.at))
      .limit(1);
    return hit?.requestId ?? null;
  }

  /** A notification about the request was sent with this Message-ID: a reply to it joins the request. */
  async recordSent(requestId: string, messageId: string): Promise<void> {
    const id = messageId.replace(/^<|>$/g, '').toLowerCase();
    await this.#db
      .insert(messages)
      .values({ id: uuidv7(this.#l.now().getTime()), requestId, direction: 'out', messageId: id, at: this.#l.now() });
  }

  /** The messages of a request (the admin's view: ids, times, sizes, why unanswered; never their text). */
  async messagesOf(requestId: string): Promise<
    {
      id: string;
      direction: 'in' | 'out';
      at: string;
      size: number | null;
      unanswered: string | null;
      sealed: boolean;
    }[]
  > {
    if (!(await this.#l.row(requestId))) return [];
    const rows = await this.#db.select().from(messages).where(eq(messages.requestId, requestId)).orderBy(messages.at);
    return rows.map((r) => ({
      id: r.id,
      direction: r.direction,
      at: r.at.toISOString(),
      size: r.size,
      unanswered: r.unanswered,
      sealed: r.sealed,
    }));
  }

  /** A received message's raw bytes, as it arrived (the admin downloads it: never rendered). */
  async evidenceOf(requestId: string, messageRowId: string): Promise<Buffer | null> {
    if (!UUID.test(requestId) || !UUID.test(messageRowId) || !this.#l.c.evidence) return null;
    const [row] = await this.#db
      .select()
      .from(messages)
      .where(and(eq(messages.id, messageRowId), eq(messages.requestId, requestId), eq(messages.sealed, true)));
    return row ? this.#l.c.evidence.get(requestId, `message-${row.id}`) : null;
  }
}
