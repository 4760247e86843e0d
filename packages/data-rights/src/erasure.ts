/**
 * Erasure (policy §6, the right to deletion): the job run per handler with a lease, resumable,
 * ending in a signed receipt and a journal entry; erasures other packages decide on (the age
 * gate's); and their reapplication after a backup is restored. Internal: reached through `DataRights`.
 */
import type { SubjectRef } from '@harakaflow/core';
import { errorCodes } from '@harakaflow/core';
import { resultRows } from '@harakaflow/db';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { erasureJobs, exportsTable, journal, requests, restrictions } from './schema.js';
import { countRecords, heldReason, HeldErasures, holdRecords, holdsCovering, keepsAll } from './held.js';
import { deleteExport } from './storage.js';
import { subjectHash } from './subject.js';
import type { DataRightsConfig, HistoryEntry, Receipt } from './types.js';
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

  /**
   * An erasure another package decides on (the age gate's minor erasure, policy §8): one deletion
   * request filed by the admin and run by the same job, at `dueAt` (at once when it is due: the
   * call returns when it is done). Idempotent: a deletion of the subject already filed, running or
   * done is the one that counts. No existence check: the subject may already be gone.
   */
  async scheduleErasure(accountId: string, job: { dueAt: Date; reason: string }): Promise<void> {
    const ref: SubjectRef = { kind: 'account', accountId };
    const hash = subjectHash(this.#c.subjectKey, ref);
    const [existing] = await this.#c.db
      .select()
      .from(requests)
      .where(
        and(
          eq(requests.subjectHash, hash),
          eq(requests.kind, 'deletion'),
          inArray(requests.status, ['open', 'in_progress', 'fulfilled']),
        ),
      )
      .orderBy(desc(requests.id))
      .limit(1);
    let id = existing?.id;
    if (!existing) {
      const at = this.#l.now();
      const history: HistoryEntry[] = [
        { status: 'open', at: at.toISOString(), by: 'admin', note: job.reason.slice(0, 500) },
        {
          status: 'in_progress',
          at: at.toISOString(),
          by: 'system',
          event: 'purge-scheduled',
          note: `purge at ${job.dueAt.toISOString()}`,
        },
      ];
      // A fresh id: the insert always makes the row.
      const row = (await this.#l.insert(
        {
          kind: 'deletion',
          subject: ref,
          hash,
          status: 'in_progress',
          filedBy: 'admin',
          verification: 'reported by the age gate',
          history,
        },
        at,
      ))!;
      id = row.id;
      await this.#c.db
        .insert(erasureJobs)
        .values({ requestId: id, status: 'pending', dueAt: job.dueAt, progress: {} })
        .onConflictDoNothing();
      await this.#l.event('data_rights.request.received', row, { filedBy: 'admin', via: 'age-gate' });
    } else if (existing.status === 'fulfilled') return;
    if (job.dueAt.getTime() <= this.#c.now()) await this.runDueErasures(id);
  }

  /** The state of the latest erasure of an account (the age gate's report answers with it). */
  async erasureState(accountId: string): Promise<{
    status: 'pending' | 'running' | 'done';
    completedAt: Date | null;
    counts: Record<string, number> | null;
  } | null> {
    const hash = subjectHash(this.#c.subjectKey, { kind: 'account', accountId });
    const [row] = await this.#c.db
      .select()
      .from(requests)
      .where(
        and(
          eq(requests.subjectHash, hash),
          eq(requests.kind, 'deletion'),
          inArray(requests.status, ['in_progress', 'fulfilled']),
        ),
      )
      .orderBy(desc(requests.id))
      .limit(1);
    if (!row) return null;
    if (row.status === 'fulfilled' && row.receipt) {
      return {
        status: 'done',
        completedAt: new Date(row.receipt.completedAt),
        counts: Object.fromEntries(row.receipt.handlers.map((h) => [h.name, h.erased])),
      };
    }
    const [job] = await this.#c.db
      .select({ status: erasureJobs.status })
      .from(erasureJobs)
      .where(eq(erasureJobs.requestId, row.id));
    return { status: job?.status === 'running' ? 'running' : 'pending', completedAt: null, counts: null };
  }

  /** Every erasure recorded in the journal, oldest first: what `hf-rights export-journal` writes. */
  async *journal(): AsyncGenerator<{ requestId: string; subjectKind: string; subjectHash: string; erasedAt: string }> {
    let after = '';
    for (;;) {
      const page = await this.#c.db
        .select()
        .from(journal)
        .where(sql`${journal.requestId} > ${after || '00000000-0000-0000-0000-000000000000'}`)
        .orderBy(asc(journal.requestId))
        .limit(1000);
      for (const row of page)
        yield {
          requestId: row.requestId,
          subjectKind: row.subjectKind,
          subjectHash: row.subjectHash,
          erasedAt: row.erasedAt.toISOString(),
        };
      if (page.length < 1000) return;
      after = page.at(-1)!.requestId;
    }
  }

  /**
   * After a backup is restored: every candidate subject (the restored accounts, their contacts)
   * whose keyed hash is in `hashes` (the journal, or a copy of it kept outside the backup) is erased
   * again through every handler, and the restored requests about it keep only their hash again.
   */
  async reapplyErasures(
    candidates: AsyncIterable<SubjectRef> | Iterable<SubjectRef>,
    hashes?: Iterable<string>,
  ): Promise<{ checked: number; matched: number; erased: Record<string, number> }> {
    const known = new Set<string>(hashes ?? []);
    if (!hashes) for await (const entry of this.journal()) known.add(entry.subjectHash);
    const erased: Record<string, number> = {};
    let checked = 0;
    let matched = 0;
    for await (const ref of candidates) {
      checked++;
      const hash = subjectHash(this.#c.subjectKey, ref);
      if (!known.has(hash)) continue;
      matched++;
      // What a legal hold covers stays, as it did when the erasure first ran (held.ts).
      const holds = await this.#held.holdsOf(ref);
      for (const handler of this.#c.handlers(ref.kind)) {
        if (holdsCovering(handler, holds).length) continue;
        erased[handler.name] = (erased[handler.name] ?? 0) + (await handler.eraseSubject(ref)).erased;
      }
      await this.#c.db
        .update(requests)
        .set({ accountId: null, phone: null, email: null, details: null, contact: null })
        .where(eq(requests.subjectHash, hash));
      if (ref.kind === 'account') {
        await this.#c.db
          .update(requests)
          .set({ accountId: null, phone: null, email: null, details: null, contact: null })
          .where(eq(requests.accountId, ref.accountId));
        await this.#c.db.delete(restrictions).where(eq(restrictions.accountId, ref.accountId));
      }
      await this.#c.record({
        action: 'data_rights.erasure.reapplied',
        resource: `subject-hash:${hash}`,
        outcome: 'success',
        durability: 'sync',
      });
    }
    return { checked, matched, erased };
  }
}
