/**
 * Erasure (policy §6, the right to deletion): the job run per handler with a lease, resumable,
 * ending in a signed receipt and a journal entry (the age gate's erasures: erasure-scheduled.ts; the
 * journal and its reapplication after a restore: erasure-journal.ts). Internal: reached through `DataRights`.
 */
import { errorCodes } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import { and, eq, sql } from 'drizzle-orm';
import { erasureJobs, exportsTable, journal, requests, restrictions } from './schema.js';
import { countRecords, heldReason, HeldErasures, holdRecords, holdsCovering, keepsAll } from './held.js';
import { deleteExport } from './storage.js';
import type { DataRightsConfig, Receipt } from './types.js';
import { appendHistory, ts, type ErasureProgress, type Ledger } from './ledger.js';

export class Erasures {
  readonly #l: Ledger;
  readonly #c: DataRightsConfig;
  readonly #held: HeldErasures;

  constructor(ledger: Ledger) {
    this.#l = ledger;
    this.#c = ledger.c;
    this.#held = new HeldErasures(ledger);
  }

  /** Erases what legal holds kept once they are released (held.ts); returns the parts erased. */
  releaseHeld(): Promise<number> {
    return this.#held.release();
  }

  /** Is the account waiting for its purge (a deletion in progress)? */
  async pendingDeletion(accountId: string): Promise<boolean> {
    const [row] = await this.#c.db
      .select({ id: requests.id })
      .from(requests)
      .where(
        and(
          eq(requests.accountId, accountId),
          eq(requests.kind, 'deletion'),
          eq(requests.subjectKind, 'account'),
          eq(requests.status, 'in_progress'),
        ),
      )
      .limit(1);
    return Boolean(row);
  }

  /**
   * Runs erasure jobs that are due (or the one named), each claimed with a lease in one statement
   * (`FOR UPDATE SKIP LOCKED`), so replicas never run one job twice at once and a crashed
   * replica's job is claimed again when its lease runs out. Each handler's result is written as it
   * finishes; a resumed job skips the handlers already done. Returns the jobs completed.
   */
  async runDueErasures(requestId?: string): Promise<number> {
    let completed = 0;
    for (;;) {
      const at = this.#l.now();
      const claimed = (await this.#c.db.execute(sql`
        update ${erasureJobs} set status = 'running', lease_until = ${ts(new Date(at.getTime() + this.#c.leaseMs))}, attempts = ${erasureJobs.attempts} + 1
        where ${erasureJobs.requestId} = (
          select ${erasureJobs.requestId} from ${erasureJobs}
          where ${erasureJobs.status} <> 'done' and ${erasureJobs.dueAt} <= ${ts(at)}
            and (${erasureJobs.status} = 'pending' or ${erasureJobs.leaseUntil} < ${ts(at)})
            ${requestId ? sql`and ${erasureJobs.requestId} = ${requestId}` : sql``}
          order by ${erasureJobs.dueAt} limit 1 for update skip locked)
        returning request_id, progress`)) as unknown;
      const job = resultRows<{ request_id: string; progress: ErasureProgress }>(claimed)[0];
      if (!job) return completed;
      try {
        if (await this.#erase(job.request_id, job.progress ?? {})) completed++;
      } catch (error) {
        // The lease runs out and the job is claimed again; every handler is idempotent.
        this.#c.log.error(
          { err: errorCodes(error), requestId: job.request_id },
          'data rights: an erasure step failed; the job will be retried',
        );
        return completed;
      }
    }
  }

  /** Runs a claimed job; false when it had to wait (a legal hold). */
  async #erase(requestId: string, progress: ErasureProgress): Promise<boolean> {
    const row = await this.#l.row(requestId);
    const ref = row && this.#l.ref(row);
    if (!row || !ref) {
      await this.#c.db
        .update(erasureJobs)
        .set({ status: 'done', completedAt: this.#l.now() })
        .where(eq(erasureJobs.requestId, requestId));
      return true;
    }
    // A legal hold on all of the subject's data: the purge waits (checked again in an hour), said
    // once in the request's history and in the audit log; the receipt comes when it is released.
    // A hold on a class keeps only what it names, below: the rest is erased now.
    const holds = await this.#held.holdsOf(ref);
    if (!Object.keys(progress).length && (holds.some(keepsAll) || (await this.#c.isHeld?.(ref)))) {
      const at = this.#l.now();
      await this.#c.db
        .update(erasureJobs)
        .set({ status: 'pending', leaseUntil: null, dueAt: new Date(at.getTime() + 3_600_000) })
        .where(eq(erasureJobs.requestId, requestId));
      if (row.history.at(-1)?.event !== 'held') {
        await this.#c.db
          .update(requests)
          .set({
            history: appendHistory({
              status: row.status,
              at: at.toISOString(),
              by: 'system',
              event: 'held',
              note: 'a legal hold keeps this subject; the purge waits for its release',
            }),
          })
          .where(eq(requests.id, requestId));
        await this.#l.event('data_rights.erasure.held', row);
      }
      return false;
    }
    for (const handler of this.#c.handlers(ref.kind)) {
      if (progress[handler.name]) continue;
      // A hold on one of the handler's classes (or one placed on everything since the job began):
      // its data stays, recorded for erasure at the hold's release, and the receipt says so.
      const keeping = holdsCovering(handler, holds);
      const count = keeping.length ? await countRecords(handler, ref) : 0;
      if (count > 0) {
        await this.#held.keep(requestId, ref, handler.name, keeping);
        progress[handler.name] = {
          erased: 0,
          kept: [{ count, reason: heldReason(keeping) }],
          holds: holdRecords(keeping),
        };
      } else {
        const result = await handler.eraseSubject(ref);
        if (keeping.length) await this.#held.forget(requestId, handler.name);
        progress[handler.name] = { erased: result.erased, kept: (result.kept ?? []).filter((k) => k.count > 0) };
      }
      await this.#c.db
        .update(erasureJobs)
        .set({ progress, leaseUntil: new Date(this.#c.now() + this.#c.leaseMs) })
        .where(eq(erasureJobs.requestId, requestId));
    }
    // This package's own records of the subject: other requests keep only their hash.
    if (ref.kind === 'account') {
      await this.#c.db.delete(restrictions).where(eq(restrictions.accountId, ref.accountId));
      const others = await this.#c.db
        .select({ id: exportsTable.id })
        .from(exportsTable)
        .innerJoin(requests, eq(requests.id, exportsTable.requestId))
        .where(eq(requests.accountId, ref.accountId));
      for (const e of others) await deleteExport(this.#c.db, this.#c.keyStore, e.id);
    }
    const completedAt = this.#l.now();
    const unsigned = {
      requestId,
      subjectHash: row.subjectHash,
      completedAt: completedAt.toISOString(),
      handlers: Object.entries(progress).map(([name, p]) => ({
        name,
        erased: p.erased,
        kept: p.kept.reduce((n, k) => n + k.count, 0),
        ...(p.kept.length ? { keptReason: p.kept.map((k) => k.reason).join('; ') } : {}),
        ...(p.holds?.length ? { holds: p.holds } : {}),
      })),
    };
    const receipt: Receipt = { ...unsigned, ...this.#c.signingKeys.sign(unsigned) };
    await this.#c.db.transaction(async (tx) => {
      await tx
        .insert(journal)
        .values({ requestId, subjectKind: ref.kind, subjectHash: row.subjectHash, erasedAt: completedAt })
        .onConflictDoNothing();
      await tx
        .update(erasureJobs)
        .set({ status: 'done', completedAt, leaseUntil: null })
        .where(eq(erasureJobs.requestId, requestId));
      if (ref.kind === 'account') {
        // Every request about the account (and its contacts) keeps only its hash from now on.
        await tx
          .update(requests)
          .set({ accountId: null, phone: null, email: null, details: null, replyTo: null, contact: null })
          .where(and(eq(requests.accountId, ref.accountId), sql`${requests.id} <> ${requestId}`));
      }
    });
    // The receipt goes to the audit log without a subject: the log's events of the subject were
    // just erased, and this one names it only by its keyed hash.
    await this.#c.record({
      action: 'data_rights.erasure.completed',
      resource: `privacy-request:${requestId}`,
      outcome: 'success',
      details: { receipt },
      durability: 'sync',
    });
    // A contact's deletion stays in the list of the account that filed it, with its receipt (issue
    // 30 item 8): the account id is the filer's, not the contact's; the number goes.
    const [done] = await this.#c.db
      .update(requests)
      .set({
        status: 'fulfilled',
        receipt,
        history: appendHistory({ status: 'fulfilled', at: completedAt.toISOString(), by: 'system', event: 'purged' }),
        accountId: ref.kind === 'contact' ? ref.accountId : null,
        phone: null,
        email: null,
        details: null,
        contact: null,
        updatedAt: completedAt,
      })
      .where(eq(requests.id, requestId))
      .returning();
    // The receipt reaches the person (the filing account, or the address captured at the request, then erased).
    if (done) await this.#l.notify(done);
    return true;
  }
}
