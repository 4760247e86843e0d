/**
 * The retention class `rights_requests` (issue 32): a closed request (fulfilled, denied, canceled,
 * expired) is kept `retainDays` after its last change as the proof that it was answered, then
 * deleted with what hangs on it: the messages of its thread and their sealed copies (the evidence
 * store), its codes, its finished erasure job. A request still needed stays: a restriction it put
 * in force, an erasure a legal hold keeps open, one about an account a hold keeps.
 */
import type { RetentionBatch, RetentionStep } from '@harakaflow/core';
import { and, inArray, lt, sql } from 'drizzle-orm';
import { erasureJobs, exportsTable, messages, requests, verifications } from './schema.js';
import type { DataRightsConfig } from './types.js';

export const RIGHTS_REQUESTS_CLASS = 'rights_requests';

/**
 * The closed requests past `batch.cutoff` (by their last change), up to `batch.limit`, deleted (or counted on a dry
 * run).
 */
export async function purgeClosedRequests(
  c: Pick<DataRightsConfig, 'db' | 'evidence'>,
  batch: RetentionBatch,
): Promise<RetentionStep> {
  // Accounts under a legal hold (every class, or this one): their requests stay.
  const held = batch.heldSubjects.length
    ? sql`(${requests.accountId} is null or ${requests.accountId}::text not in (${sql.join(
        batch.heldSubjects.map((s) => sql`${s}`),
        sql`, `,
      )}))`
    : undefined;
  const due = await c.db
    .select({ id: requests.id })
    .from(requests)
    .where(
      and(
        inArray(requests.status, ['fulfilled', 'denied', 'canceled', 'expired']),
        lt(requests.updatedAt, batch.cutoff),
        sql`not exists (select 1 from data_rights.restrictions x where x.request_id = ${requests.id})`,
        sql`not exists (select 1 from data_rights.held_erasures h where h.request_id = ${requests.id})`,
        sql`not exists (select 1 from data_rights.erasure_jobs j where j.request_id = ${requests.id} and j.status <> 'done')`,
        held,
      ),
    )
    .orderBy(requests.updatedAt)
    .limit(batch.limit);
  const ids = due.map((r) => r.id);
  if (batch.dryRun || !ids.length) return { rows: ids.length, done: batch.dryRun || ids.length < batch.limit };
  // The sealed copies first: a crash after them leaves rows that the next batch deletes again.
  for (const id of ids) await c.evidence?.deleteAll(id);
  await c.db.transaction(async (tx) => {
    await tx.delete(messages).where(inArray(messages.requestId, ids));
    await tx.delete(verifications).where(inArray(verifications.requestId, ids));
    await tx.delete(erasureJobs).where(inArray(erasureJobs.requestId, ids));
    await tx.delete(exportsTable).where(inArray(exportsTable.requestId, ids));
    await tx.delete(requests).where(inArray(requests.id, ids));
  });
  return { rows: ids.length, done: ids.length < batch.limit };
}
