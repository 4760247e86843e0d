/**
 * Legal holds through an erasure (§4; issue 30 item 2). A hold that covers a subject keeps what it
 * names through any erasure of it (a deletion, a minor's erasure, a contact's deletion): a hold on
 * every class, or on the class of an account's own data, keeps all of it (the purge waits, as
 * before); a hold on one class keeps the data of the handlers whose `retentionClasses` name it, and
 * the rest is erased. What was kept is listed in the receipt with the hold and its reason, and
 * recorded here (`held_erasures`, with the subject's identifiers: the only copy left) until no hold
 * covers it any more; then the handler erases it, and the request's history and the audit log say
 * so. Internal: reached through `DataRights`.
 */
import type { PersonalDataHandler, SubjectHold, SubjectRef } from '@harakaflow/core';
import { errorCodes, isRecordStream } from '@harakaflow/core';
import { and, asc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import { appendHistory, type Ledger } from './ledger.js';
import { heldErasures, requests } from './schema.js';

/** The class of an account's own data (the app's `deleted_accounts`): a hold on it keeps all of the subject. */
export const ACCOUNT_DATA_CLASS = 'deleted_accounts';

/** A hold that keeps everything of its subject: on every class, or on an account's own data. */
export const keepsAll = (hold: SubjectHold): boolean => hold.class === null || hold.class === ACCOUNT_DATA_CLASS;

/** The holds that keep this handler's data: those that keep everything, and those on a class it names. */
export function holdsCovering(handler: PersonalDataHandler, holds: readonly SubjectHold[]): SubjectHold[] {
  const classes = handler.retentionClasses ?? [];
  return holds.filter((h) => keepsAll(h) || (h.class !== null && classes.includes(h.class)));
}

/** What the receipt says of data kept under holds: each hold, its class and its reason. */
export const heldReason = (holds: readonly SubjectHold[]): string =>
  holds.map((h) => `legal hold ${h.id}${h.class ? ` on ${h.class}` : ''}: ${h.reason}`).join('; ');

/** The holds as the receipt and the table keep them (nothing else a source may attach). */
export const holdRecords = (holds: readonly SubjectHold[]): SubjectHold[] =>
  holds.map((h) => ({ id: h.id, class: h.class, reason: h.reason }));

/**
 * The records a handler holds about the subject, counted as an export counts them (the manifest's
 * `records`: a streamed part's records, or 1 for a part that is one value), read and not kept.
 */
export async function countRecords(handler: PersonalDataHandler, ref: SubjectRef): Promise<number> {
  const part = handler.exportSubject(ref);
  if (!isRecordStream(part)) return (await part) == null ? 0 : 1;
  let n = 0;
  for await (const _record of part) n++;
  return n;
}

type HeldRow = typeof heldErasures.$inferSelect;
const PAGE = 100;

const refOf = (row: HeldRow): SubjectRef | null => {
  if (row.subjectKind === 'account' && row.accountId) return { kind: 'account', accountId: row.accountId };
  if (row.subjectKind === 'contact' && row.accountId && row.phone)
    return { kind: 'contact', accountId: row.accountId, phone: row.phone };
  if (row.subjectKind === 'email' && row.email) return { kind: 'email', email: row.email };
  return null;
};

export class HeldErasures {
  readonly #l: Ledger;

  constructor(ledger: Ledger) {
    this.#l = ledger;
  }

  /** The holds covering the subject (none without a source). */
  async holdsOf(ref: SubjectRef): Promise<SubjectHold[]> {
    return [...((await this.#l.c.holdsOf?.(ref)) ?? [])];
  }

  /** Records that an erasure kept this handler's data of the subject under `holds`. Idempotent. */
  async keep(requestId: string, ref: SubjectRef, handler: string, holds: readonly SubjectHold[]): Promise<void> {
    await this.#l.c.db
      .insert(heldErasures)
      .values({
        requestId,
        handler,
        subjectKind: ref.kind,
        accountId: ref.kind === 'email' ? null : ref.accountId,
        phone: ref.kind === 'contact' ? ref.phone : null,
        email: ref.kind === 'email' ? ref.email : null,
        holds: holdRecords(holds),
        since: this.#l.now(),
      })
      .onConflictDoNothing();
  }

  /** A handler erased after all (the hold went before a resumed job reached it): nothing kept. */
  async forget(requestId: string, handler: string): Promise<void> {
    await this.#l.c.db
      .delete(heldErasures)
      .where(and(eq(heldErasures.requestId, requestId), eq(heldErasures.handler, handler)));
  }

  /**
   * Erases what holds kept once no hold covers it any more (every sweep, every replica): each part
   * claimed with a lease, erased by its handler, then removed, with a history entry on its request
   * (`event: 'hold-released'`) and an audit event (`data_rights.erasure.released`, by request,
   * no subject). A part whose handler is not registered here waits for a replica that has it.
   * Returns the parts erased.
   */
  async release(): Promise<number> {
    let released = 0;
    // Page by key: parts still held stay in the table, and every one is looked at each sweep.
    let after: { requestId: string; handler: string } | undefined;
    for (;;) {
      const page = await this.#l.c.db
        .select()
        .from(heldErasures)
        .where(
          after
            ? sql`(${heldErasures.requestId}, ${heldErasures.handler}) > (${after.requestId}::uuid, ${after.handler})`
            : undefined,
        )
        .orderBy(asc(heldErasures.requestId), asc(heldErasures.handler))
        .limit(PAGE);
      released += await this.#releasePage(page);
      if (page.length < PAGE) return released;
      after = page.at(-1)!;
    }
  }

  async #releasePage(rows: HeldRow[]): Promise<number> {
    const c = this.#l.c;
    const at = this.#l.now();
    const free = or(isNull(heldErasures.leaseUntil), lt(heldErasures.leaseUntil, at));
    let released = 0;
    for (const row of rows) {
      if (row.leaseUntil && row.leaseUntil >= at) continue;
      const ref = refOf(row);
      const handler = ref && c.handlers(ref.kind).find((h) => h.name === row.handler);
      if (!ref || !handler) continue;
      if (holdsCovering(handler, await this.holdsOf(ref)).length) continue;
      const part = and(eq(heldErasures.requestId, row.requestId), eq(heldErasures.handler, row.handler));
      const [claimed] = await c.db
        .update(heldErasures)
        .set({ leaseUntil: new Date(at.getTime() + c.leaseMs) })
        .where(and(part, free))
        .returning({ requestId: heldErasures.requestId });
      if (!claimed) continue;
      try {
        // Erased first, then forgotten: a crash between the two erases again (handlers are idempotent).
        const { erased } = await handler.eraseSubject(ref);
        const gone = await c.db.delete(heldErasures).where(part).returning({ requestId: heldErasures.requestId });
        if (!gone.length) continue;
        const request = await this.#l.row(row.requestId);
        const ids = row.holds.map((h) => h.id).join(', ');
        if (request) {
          const note = `${row.handler}: ${erased} record(s) erased, kept until legal hold ${ids} was released`;
          await c.db
            .update(requests)
            .set({
              history: appendHistory({
                status: request.status,
                at: this.#l.now().toISOString(),
                by: 'system',
                event: 'hold-released',
                note,
              }),
              updatedAt: this.#l.now(),
            })
            .where(eq(requests.id, row.requestId));
        }
        await c.record({
          action: 'data_rights.erasure.released',
          resource: `privacy-request:${row.requestId}`,
          outcome: 'success',
          details: { handler: row.handler, erased, holds: row.holds.map((h) => h.id) },
          durability: 'sync',
        });
        released++;
      } catch (error) {
        // The lease runs out and the part is tried again at a later sweep.
        c.log.error(
          { err: errorCodes(error), requestId: row.requestId, handler: row.handler },
          'data rights: erasing data a released hold kept failed; it will be retried',
        );
      }
    }
    return released;
  }
}
