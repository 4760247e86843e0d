/** §11: the notices of an upcoming material policy version, queued once per account and version. */
import { uuidv7 } from '@harakaflow/core';
import { eq, sql } from 'drizzle-orm';
import { noticeTooLate } from './errors.js';
import { outbox, policyNotices } from './schema.js';
import type { NotifierConfig } from './service.js';
import type { PolicyVersion, Recipient } from './types.js';

const DAY = 86_400_000;
/** §11: material changes are announced at least this long before they take effect. */
export const NOTICE_DAYS = 14;

/**
 * §11: queues one `policy.upcoming` notice per recipient for every material version (not the
 * first, the baseline) that is published and not yet in force, exactly once per account and
 * version across replicas and restarts (a unique key per notice, and `policy_notices` to
 * resume). A version whose notices were never queued and which takes effect in less than 14 days
 * can no longer be announced in time: this throws naming it (at startup: startup stops).
 * `recipients(after)` pages the accounts to tell, in a stable order, after the id given.
 */
export async function schedulePolicyNotices(
  c: Pick<NotifierConfig, 'db' | 'onQueued'>,
  clock: () => Date,
  versions: readonly PolicyVersion[],
  recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>,
  o: { policyUrl: string },
): Promise<{ version: string; queued: number }[]> {
  const now = clock();
  const sorted = [...versions].map((v) => ({ ...v, publishedAt: new Date(v.publishedAt), effectiveAt: new Date(v.effectiveAt) })).sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime());
  const done: { version: string; queued: number }[] = [];
  for (const v of sorted.slice(1)) {
    if (!v.material || v.effectiveAt <= now || v.publishedAt > now) continue;
    const [state] = await c.db.select().from(policyNotices).where(eq(policyNotices.version, v.version));
    if (state?.completedAt) continue;
    if (!state) {
      const days = (v.effectiveAt.getTime() - now.getTime()) / DAY;
      if (days < NOTICE_DAYS) throw noticeTooLate(v.version, days);
      await c.db.insert(policyNotices).values({ version: v.version, effectiveAt: v.effectiveAt, startedAt: now }).onConflictDoNothing();
    }
    let queued = 0;
    let after: string | null = null;
    const effectiveDate = v.effectiveAt.toISOString().slice(0, 10);
    for (;;) {
      const page = await recipients(after);
      if (!page.length) break;
      const rows = page
        .filter((r) => r.address)
        .map((r) => ({
          id: uuidv7(now.getTime()),
          kind: 'policy.upcoming',
          accountId: r.accountId,
          address: r.address,
          data: { name: r.name || 'there', businessName: r.businessName || 'your account', version: v.version, effectiveDate, policyUrl: o.policyUrl },
          dedupeKey: `policy.upcoming:${v.version}:${r.accountId}`,
          nextAttemptAt: now,
          createdAt: now,
        }));
      if (rows.length) queued += (await c.db.insert(outbox).values(rows).onConflictDoNothing().returning({ id: outbox.id })).length;
      after = page.at(-1)!.accountId;
    }
    await c.db
      .update(policyNotices)
      .set({ completedAt: clock(), recipients: sql`${policyNotices.recipients} + ${queued}` })
      .where(eq(policyNotices.version, v.version));
    if (queued) c.onQueued?.();
    done.push({ version: v.version, queued });
  }
  return done;
}
