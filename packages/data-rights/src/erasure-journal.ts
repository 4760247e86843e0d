/**
 * The erasure journal (what `hf-rights export-journal` writes) and erasures reapplied after a backup is restored.
 * Internal: reached through `DataRights`.
 */
import type { SubjectRef } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { asc, eq, sql } from 'drizzle-orm';
import { HeldErasures, holdsCovering } from './held.js';
import type { Ledger } from './ledger.js';
import { journal, requests, restrictions } from './schema.js';
import { subjectHash } from './subject.js';

/** Every erasure recorded in the journal, oldest first: what `hf-rights export-journal` writes. */
export async function* erasureJournal(
  db: Database,
): AsyncGenerator<{ requestId: string; subjectKind: string; subjectHash: string; erasedAt: string }> {
  let after = '';
  for (;;) {
    const page = await db
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
export async function reapplyErasures(
  l: Ledger,
  candidates: AsyncIterable<SubjectRef> | Iterable<SubjectRef>,
  hashes?: Iterable<string>,
): Promise<{ checked: number; matched: number; erased: Record<string, number> }> {
  const held = new HeldErasures(l);
  const known = new Set<string>(hashes ?? []);
  if (!hashes) for await (const entry of erasureJournal(l.c.db)) known.add(entry.subjectHash);
  const erased: Record<string, number> = {};
  let checked = 0;
  let matched = 0;
  for await (const ref of candidates) {
    checked++;
    const hash = subjectHash(l.c.subjectKey, ref);
    if (!known.has(hash)) continue;
    matched++;
    // What a legal hold covers stays, as it did when the erasure first ran (held.ts).
    const holds = await held.holdsOf(ref);
    for (const handler of l.c.handlers(ref.kind)) {
      if (holdsCovering(handler, holds).length) continue;
      erased[handler.name] = (erased[handler.name] ?? 0) + (await handler.eraseSubject(ref)).erased;
    }
    await l.c.db
      .update(requests)
      .set({ accountId: null, phone: null, email: null, details: null, contact: null })
      .where(eq(requests.subjectHash, hash));
    if (ref.kind === 'account') {
      await l.c.db
        .update(requests)
        .set({ accountId: null, phone: null, email: null, details: null, contact: null })
        .where(eq(requests.accountId, ref.accountId));
      await l.c.db.delete(restrictions).where(eq(restrictions.accountId, ref.accountId));
    }
    await l.c.record({
      action: 'data_rights.erasure.reapplied',
      resource: `subject-hash:${hash}`,
      outcome: 'success',
      durability: 'sync',
    });
  }
  return { checked, matched, erased };
}
