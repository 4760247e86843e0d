/**
 * Usage metering: per-account daily counters per metric, added up in memory and written in one
 * statement every `flushIntervalMs` (a request never waits on it), then read back by `usage()`.
 */
import type { Database } from '@harakaflow/db';
import { and, eq, gte, lte, sql } from 'drizzle-orm';
import { usageDaily } from './schema.js';

let day = '';
let dayEnds = 0;
/** Today's UTC day, computed once per day (every metered request asks). */
function today(): string {
  const now = Date.now();
  if (now >= dayEnds || now < dayEnds - 86_400_000) {
    day = new Date(now).toISOString().slice(0, 10);
    dayEnds = now - (now % 86_400_000) + 86_400_000;
  }
  return day;
}

export class UsageMeter {
  readonly #db: Database | undefined;
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  readonly #intervalMs: number;
  /** The last flush, settled either way: a failed write never leaves the chain rejected. */
  #flushing: Promise<void> = Promise.resolve();
  readonly #onError: (error: unknown) => void;

  /** `onError`: a timed flush that failed (the counts are kept and written at the next one). */
  constructor(db: Database | undefined, intervalMs = 5000, onError: (error: unknown) => void = () => {}) {
    this.#db = db;
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** A flush after the interval; its failure is reported, never left unhandled (that would end the process). */
  #arm(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch(this.#onError);
    }, this.#intervalMs);
    this.#timer.unref();
  }

  add(accountId: string, metric: string, n = 1, at?: Date): void {
    if (!this.#db) return;
    const key = `${accountId}\u0000${at ? at.toISOString().slice(0, 10) : today()}\u0000${metric}`;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + n);
    this.#arm();
  }

  /** Writes what is pending (one upsert). Failed writes are kept for the next flush. */
  flush(): Promise<void> {
    const run = this.#flushing.then(() => this.#write());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  async #write(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#db || !this.#pending.size) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const rows = [...batch].map(([key, count]) => {
      const [accountId, day, metric] = key.split('\u0000') as [string, string, string];
      return { accountId, day, metric, count };
    });
    try {
      await this.#db
        .insert(usageDaily)
        .values(rows)
        .onConflictDoUpdate({
          target: [usageDaily.accountId, usageDaily.day, usageDaily.metric],
          set: { count: sql`${usageDaily.count} + excluded.count` },
        });
    } catch (error) {
      for (const [key, n] of batch) this.#pending.set(key, (this.#pending.get(key) ?? 0) + n);
      this.#arm(); // tried again after the interval, with what came meanwhile
      throw error;
    }
  }

  /** Totals per metric for an account over [from, to] (UTC days, inclusive), pending counts included. */
  async usage(accountId: string, range: { from: string; to: string }): Promise<Record<string, number>> {
    await this.flush();
    if (!this.#db) return {};
    const rows = await this.#db
      .select({ metric: usageDaily.metric, total: sql<number>`sum(${usageDaily.count})::int` })
      .from(usageDaily)
      .where(and(eq(usageDaily.accountId, accountId), gte(usageDaily.day, range.from), lte(usageDaily.day, range.to)))
      .groupBy(usageDaily.metric);
    return Object.fromEntries(rows.map((r) => [r.metric, r.total]));
  }

  async rows(accountId: string) {
    await this.flush();
    return this.#db ? this.#db.select().from(usageDaily).where(eq(usageDaily.accountId, accountId)) : [];
  }

  async erase(accountId: string): Promise<number> {
    for (const key of [...this.#pending.keys()]) if (key.startsWith(`${accountId}\u0000`)) this.#pending.delete(key);
    if (!this.#db) return 0;
    return (
      await this.#db.delete(usageDaily).where(eq(usageDaily.accountId, accountId)).returning({ day: usageDaily.day })
    ).length;
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
  }
}
