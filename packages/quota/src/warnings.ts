/**
 * Quota warnings, once per (subject, quota, threshold, period): the dedupe is a row in
 * `quota.warnings_sent` inserted with ON CONFLICT DO NOTHING, so of several replicas crossing the
 * same threshold at once exactly one warns. Without a database, a bounded in-memory set whose
 * entries end with their period.
 */
import type { Database } from '@harakaflow/db';
import { ExpiringSet } from './cache.js';
import { crossedThresholds, type LimitSpec } from './core.js';
import type { WarningInfo } from './options.js';
import { warningsSent } from './schema.js';
import type { Outcome } from './store-config.js';

export class Warnings {
  readonly #db: Database | undefined;
  readonly #thresholds: number[];
  readonly #now: () => number;
  readonly #memory = new ExpiringSet(100_000);

  constructor(db: Database | undefined, thresholds: number[], now: () => number) {
    this.#db = db;
    this.#thresholds = thresholds;
    this.#now = now;
  }

  /**
   * The warnings due now that `outcome` took a limit from `before` to `outcome.consumed`: each
   * threshold crossed whose warning no replica has sent yet this period (claimed here).
   */
  async due(subjectId: string, spec: LimitSpec, before: number, outcome: Outcome): Promise<WarningInfo[]> {
    const crossed = crossedThresholds(this.#thresholds, spec.points, before, outcome.consumed);
    if (!crossed.length) return [];
    // The period's end, rounded to the second: every replica sharing the store computes the same.
    const periodEnd = new Date(Math.round((this.#now() + outcome.msBeforeNext) / 1000) * 1000);
    const due: WarningInfo[] = [];
    for (const threshold of crossed) {
      if (await this.#claim(subjectId, spec.name, threshold, periodEnd)) {
        due.push({
          quota: spec.name,
          threshold,
          used: Math.min(outcome.consumed, spec.points),
          limit: spec.points,
          resetAt: periodEnd,
        });
      }
    }
    return due;
  }

  async #claim(subject: string, quota: string, threshold: number, periodEnd: Date): Promise<boolean> {
    if (!this.#db) {
      const key = `${subject}|${quota}|${threshold}|${periodEnd.getTime()}`;
      const now = this.#now();
      if (this.#memory.has(key, now)) return false;
      this.#memory.set(key, Math.max(now + 1, periodEnd.getTime()));
      return true;
    }
    const inserted = await this.#db
      .insert(warningsSent)
      .values({ subject, quota, threshold: Math.round(threshold * 100), periodEnd })
      .onConflictDoNothing()
      .returning({ subject: warningsSent.subject });
    return inserted.length > 0;
  }
}
