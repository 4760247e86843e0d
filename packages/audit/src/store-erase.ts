/** Erasure of a subject's events in place (personal fields nulled, the digest kept: the chain still verifies). */
import { resultRows, type Database } from '@harakaflow/db';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { AuditEvent } from './event.js';
import { personalDigestOf } from './format3.js';
import { pgArray } from './pg-array.js';
import { events } from './schema.js';

import { selectEvents } from './store-select.js';

/**
 * Erasure of the listed events of one subject (all in one transaction): subject id, IP, user agent
 * and salt, and for version-2 and 3 events path, resource and details too, which version 1 hashes in
 * clear. The personal digest stays, so the chain still verifies; without the salt it cannot be
 * reversed. A version-3 row keeps no digest while its salt can recompute it: erasure computes it
 * from the row (locked) and stores it, nulls `user_agent_id` and lowers the user agent's reference
 * count (retention then purges a user agent nothing references). `erasedBy` names the erasure
 * record (an `audit.subject.erased` event) that covers them.
 */
export async function eraseEvents(
  db: Database,
  subjectId: string,
  list: readonly { id: string; chainVersion: number }[],
  erasedBy: string,
): Promise<number> {
  let erased = 0;
  await db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    for (const version of [1, 2]) {
      const ids = list.filter((e) => (version === 1 ? e.chainVersion === 1 : e.chainVersion === 2)).map((e) => e.id);
      const set =
        version === 1
          ? { subjectId: null, ip: null, userAgent: null, personalSalt: null, erasedAt: sql`now()`, erasedBy }
          : {
              subjectId: null,
              ip: null,
              userAgent: null,
              path: null,
              resource: null,
              details: null,
              personalSalt: null,
              erasedAt: sql`now()`,
              erasedBy,
            };
      for (let i = 0; i < ids.length; i += 5000) {
        const rows = await tx
          .update(events)
          .set(set)
          .where(and(inArray(events.id, ids.slice(i, i + 5000)), eq(events.subjectId, subjectId)))
          .returning({ id: events.id });
        erased += rows.length;
      }
    }
    // Held copies are not touched here (issue 30 item 1): the app role cannot change them; they go
    // whole once no hold keeps them (`releaseHeldCopies`, which the plugin's eraseSubject calls).
    const v3 = list.filter((e) => e.chainVersion === 3).map((e) => e.id);
    for (let i = 0; i < v3.length; i += 5000)
      erased += await eraseV3(t, events, subjectId, v3.slice(i, i + 5000), erasedBy);
  });
  return erased;
}

/** Erases format-3 rows of `table` (those of `ids`, or every one of the subject's): how many. */
async function eraseV3(
  db: Database,
  table: typeof events,
  subjectId: string,
  ids: readonly string[] | null,
  erasedBy: string,
): Promise<number> {
  // Locked first (FOR UPDATE cannot reach through the outer joins), then read with their interned values.
  const where = and(
    eq(table.subjectId, subjectId),
    eq(table.chainVersion, 3),
    isNull(table.erasedAt),
    ids ? inArray(table.id, ids as string[]) : undefined,
  );
  const locked = await db
    .select({ id: table.id })
    .from(table as typeof events)
    .where(where)
    .for('update');
  if (!locked.length) return 0;
  const rows = (await selectEvents(db, table).where(
    and(
      where,
      inArray(
        table.id,
        locked.map((r) => r.id),
      ),
    ),
  )) as AuditEvent[];
  if (!rows.length) return 0;
  const refs = await db
    .select({ id: events.id, userAgentId: events.userAgentId, writerId: events.writerId, day: events.day })
    .from(events)
    .where(
      and(
        inArray(
          events.id,
          rows.map((r) => r.id),
        ),
        sql`${events.userAgentId} is not null`,
      ),
    );
  const digests = rows.map((r) => personalDigestOf(r));
  // A row whose salt cannot give its digest was tampered with: it is erased all the same, and verify reports it.
  const updated =
    await db.execute(sql`update audit.events e set subject_id = null, ip = null, user_agent_id = null, path = null, resource = null, details = null,
      personal_salt_bytes = null, personal_digest_bytes = coalesce(d.digest, e.personal_digest_bytes), erased_at = now(), erased_by = ${erasedBy}
    from unnest(${pgArray(rows, (r) => r.id)}::uuid[], ${pgArray(digests, (d) => (d ? `\\x${d}` : null))}::bytea[]) as d(id, digest)
    where e.id = d.id and e.subject_id = ${subjectId} returning e.id`);
  if (refs.length) {
    const counts = new Map<string, { ua: number; day: string; writer: number; n: number }>();
    for (const r of refs) {
      const key = `${r.userAgentId}|${r.day}|${r.writerId}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { ua: r.userAgentId!, day: r.day, writer: r.writerId!, n: 1 });
    }
    const list = [...counts.values()];
    await db.execute(sql`update audit.user_agent_refs r set events = r.events - d.n
      from unnest(${pgArray(list, (c) => String(c.ua))}::int4[], ${pgArray(list, (c) => c.day)}::date[], ${pgArray(list, (c) => String(c.writer))}::int4[], ${pgArray(list, (c) => String(c.n))}::int8[]) as d(ua, day, writer, n)
      where r.user_agent_id = d.ua and r.day = d.day and r.writer_id = d.writer`);
  }
  return resultRows(updated).length;
}
