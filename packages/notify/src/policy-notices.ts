/** §11: the notices of an upcoming material policy version, queued once per account and version. */
import { uuidv7 } from '@harakaflow/core';
import { eq, sql } from 'drizzle-orm';
import { noticeTooLate } from './errors.js';
import { outbox, policyNotices } from './schema.js';
import type { NotifierConfig } from './types.js';
import type { PolicyVersion, Recipient } from './types.js';
import { isLanguage } from './languages.js';
import { NO_BUSINESS_NAME, NO_NAME } from './template-types.js';

const DAY = 86_400_000;
/** §11: material changes are announced at least this long before they take effect. */
export const NOTICE_DAYS = 14;

/**
 * A change every account is told of before it takes effect (§11): a policy version, a change of
 * the processor register. Queued once per account and `key` across replicas and restarts (a
 * unique key per notice, `${kind}:${key}:${accountId}`, and the `policy_notices` row of `key` to
 * resume), as soon as it is listed and in the future.
 */
export interface Announcement {
  /** Unique among announcements: a policy version, or `subprocessors:<change>`. */
  key: string;
  /** The template kind (a legal kind: sent whatever the account's preferences). */
  kind: string;
  effectiveAt: Date;
  /**
   * It must be queued at least this many days before `effectiveAt` (never under 14, §11); later, scheduling throws
   * HF_NOTIFY_NOTICE_TOO_LATE.
   */
  noticeDays: number;
  /** The template's values besides `name` and `businessName` (the recipient's). */
  data: Record<string, string>;
  /** What it is, for the error that says it is too late (default `material policy version`). */
  what?: string | undefined;
}

/**
 * Queues every announcement in the future whose notices were not queued yet; one whose notices
 * were never queued and that takes effect sooner than its `noticeDays` can no longer be given in
 * time: this throws naming it (at startup: startup stops). `recipients(after)` pages the accounts
 * to tell, in a stable order, after the id given.
 */
export async function scheduleAnnouncements(
  c: Pick<NotifierConfig, 'db' | 'onQueued'>,
  clock: () => Date,
  announcements: readonly Announcement[],
  recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>,
): Promise<{ key: string; queued: number }[]> {
  const now = clock();
  const done: { key: string; queued: number }[] = [];
  for (const a of announcements) {
    if (a.effectiveAt <= now) continue;
    const [state] = await c.db.select().from(policyNotices).where(eq(policyNotices.version, a.key));
    if (state?.completedAt) continue;
    if (!state) {
      const days = (a.effectiveAt.getTime() - now.getTime()) / DAY;
      if (days < Math.max(NOTICE_DAYS, a.noticeDays))
        throw noticeTooLate(a.key, days, Math.max(NOTICE_DAYS, a.noticeDays), a.what);
      await c.db
        .insert(policyNotices)
        .values({ version: a.key, effectiveAt: a.effectiveAt, startedAt: now })
        .onConflictDoNothing();
    }
    let queued = 0;
    let after: string | null = null;
    for (;;) {
      const page = await recipients(after);
      if (!page.length) break;
      const rows = page
        .filter((r) => r.address)
        .map((r) => ({
          id: uuidv7(now.getTime()),
          kind: a.kind,
          accountId: r.accountId,
          address: r.address,
          data: { name: r.name || NO_NAME, businessName: r.businessName || NO_BUSINESS_NAME, ...a.data },
          lang: isLanguage(r.lang) ? r.lang : null,
          dedupeKey: `${a.kind}:${a.key}:${r.accountId}`,
          nextAttemptAt: now,
          createdAt: now,
        }));
      if (rows.length)
        queued += (await c.db.insert(outbox).values(rows).onConflictDoNothing().returning({ id: outbox.id })).length;
      after = page.at(-1)!.accountId;
    }
    await c.db
      .update(policyNotices)
      .set({ completedAt: clock(), recipients: sql`${policyNotices.recipients} + ${queued}` })
      .where(eq(policyNotices.version, a.key));
    if (queued) c.onQueued?.();
    done.push({ key: a.key, queued });
  }
  return done;
}

/**
 * §11: one `policy.upcoming` notice per recipient for every material version (not the first, the
 * baseline) that is published and not yet in force, at least 14 days before it takes effect.
 */
export async function schedulePolicyNotices(
  c: Pick<NotifierConfig, 'db' | 'onQueued'>,
  clock: () => Date,
  versions: readonly PolicyVersion[],
  recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>,
  o: { policyUrl: string },
): Promise<{ version: string; queued: number }[]> {
  const now = clock();
  const sorted = [...versions]
    .map((v) => ({ ...v, publishedAt: new Date(v.publishedAt), effectiveAt: new Date(v.effectiveAt) }))
    .sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime());
  const announcements = sorted
    .slice(1)
    .filter((v) => v.material && v.publishedAt <= now)
    .map((v) => ({
      key: v.version,
      kind: 'policy.upcoming',
      effectiveAt: v.effectiveAt,
      noticeDays: NOTICE_DAYS,
      data: { version: v.version, effectiveDate: v.effectiveAt.toISOString().slice(0, 10), policyUrl: o.policyUrl },
    }));
  return (await scheduleAnnouncements(c, clock, announcements, recipients)).map(({ key, queued }) => ({
    version: key,
    queued,
  }));
}
