/**
 * The retention runner (policy §4): one run at a time across every replica, each class purged in
 * batches (each batch its own short statement, so no lock is held for long), resumable after a
 * crash, every class's outcome recorded as an audit security event (the proof of the purge).
 *
 * One run at a time: a lease row (`retention.lease`) taken in one statement and renewed after every
 * batch, rather than a session advisory lock: batches run on a pool, each in its own transaction,
 * and a session lock would pin a connection for the whole run (PGlite has only one). A runner that
 * is killed leaves the lease to run out; the next run then resumes the killed one: same run id,
 * same cutoffs, the classes it finished skipped.
 */
import { retentionCutoff, uuidv7, type RetentionClass, type SecurityEvent } from '@harakaflow/core';
import { releaseLease, takeLease, type Database } from '@harakaflow/db';
import { and, asc, eq, gt, isNotNull, isNull, or, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { LeaseLost } from './errors.js';
import { classRuns, holds, lease, runs } from './schema.js';

export interface ClassOutcome {
  name: string;
  cutoff: string | null;
  rows: number;
  partitions: number;
  status: 'done' | 'failed' | 'held' | 'skipped' | 'dry-run';
  error?: string | undefined;
}

export interface RunResult {
  runId: string | null;
  dryRun: boolean;
  /** `busy`: another replica is running; nothing was done here. */
  status: 'done' | 'failed' | 'busy';
  classes: ClassOutcome[];
}

export interface RunnerConfig {
  db: Database;
  classes: () => readonly RetentionClass[];
  /** Accounts held for a class (every hold source). */
  heldSubjects: (className: string) => Promise<string[]>;
  /** A security event with sync durability (the audit log). */
  record: (event: SecurityEvent) => Promise<void>;
  batchSize?: number | undefined;
  /** A pause after each batch, ms (a throttle). */
  pauseMs?: number | undefined;
  leaseMs?: number | undefined;
  now?: (() => number) | undefined;
  /** Called after each batch (progress on a terminal). */
  onProgress?: ((outcome: ClassOutcome) => void) | undefined;
  /** Rows a batch removed (not on a dry run): the rows-purged metric. */
  onPurged?: ((className: string, rows: number) => void) | undefined;
  /** A class's purge failed (the class-failures metric). */
  onClassFailed?: ((className: string) => void) | undefined;
}

/** The cutoff of a period (the rule lives in core, beside the classes it cuts). */
export const periodCutoff = retentionCutoff;

const errorCode = (error: unknown) => {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'HF_RETENTION_PURGE_FAILED';
};

export class RetentionRunner {
  readonly #c: RunnerConfig;
  readonly #me = randomUUID();

  constructor(config: RunnerConfig) {
    this.#c = config;
  }

  #now(): Date {
    return new Date((this.#c.now ?? Date.now)());
  }

  /** Takes or renews the lease (@harakaflow/db's lease row); false when another runner holds it. */
  #lease(): Promise<boolean> {
    return takeLease(this.#c.db, {
      table: lease,
      key: lease.id,
      id: 1,
      holder: this.#me,
      now: this.#now(),
      ms: this.#c.leaseMs ?? 120_000,
    });
  }

  #release(): Promise<void> {
    return releaseLease(this.#c.db, { table: lease, key: lease.id, id: 1, holder: this.#me });
  }

  /** Runs every class (or `only`), or resumes a run that was killed. */
  async run(
    o: {
      dryRun?: boolean | undefined;
      only?: string | undefined;
      onProgress?: ((outcome: ClassOutcome) => void) | undefined;
    } = {},
  ): Promise<RunResult> {
    const dryRun = o.dryRun ?? false;
    const all = this.#c.classes();
    const selected = o.only ? all.filter((c) => c.name === o.only) : all;
    if (!(await this.#lease())) return { runId: null, dryRun, status: 'busy', classes: [] };
    try {
      const now = this.#now();
      // A dry run writes nothing, not even its own record.
      let runId: string | null = null;
      const finished = new Map<string, ClassOutcome>();
      /** What a killed run's class in progress had removed already: the resumed class counts on from there. */
      const partial = new Map<string, { rows: number; partitions: number }>();
      if (!dryRun) {
        const [killed] = await this.#c.db
          .select()
          .from(runs)
          .where(and(eq(runs.status, 'running'), isNull(runs.finishedAt)))
          .orderBy(asc(runs.startedAt))
          .limit(1);
        runId = killed?.id ?? uuidv7(now.getTime());
        if (!killed) await this.#c.db.insert(runs).values({ id: runId, startedAt: now, status: 'running' });
        for (const r of await this.#c.db.select().from(classRuns).where(eq(classRuns.runId, runId))) {
          if (r.status !== 'running')
            finished.set(r.className, {
              name: r.className,
              cutoff: r.cutoff.toISOString(),
              rows: r.rows,
              partitions: r.partitions,
              status: r.status as ClassOutcome['status'],
              error: r.error ?? undefined,
            });
          else partial.set(r.className, { rows: r.rows, partitions: r.partitions });
        }
      }
      const outcomes: ClassOutcome[] = [];
      for (const spec of selected) {
        const done = finished.get(spec.name);
        if (done) {
          outcomes.push(done);
          continue;
        }
        outcomes.push(await this.#runClass(spec, runId, dryRun, o.onProgress, partial.get(spec.name)));
      }
      const failed = outcomes.some((c) => c.status === 'failed');
      if (runId)
        await this.#c.db
          .update(runs)
          .set({ status: failed ? 'failed' : 'done', finishedAt: this.#now() })
          .where(eq(runs.id, runId));
      return { runId, dryRun, status: failed ? 'failed' : 'done', classes: outcomes };
    } finally {
      await this.#release();
    }
  }

  async #runClass(
    spec: RetentionClass,
    runId: string | null,
    dryRun: boolean,
    onProgress?: (outcome: ClassOutcome) => void,
    resumed?: { rows: number; partitions: number },
  ): Promise<ClassOutcome> {
    const now = this.#now();
    const started = Date.now();
    if (spec.periodDays === null || !spec.purgeBatch)
      return { name: spec.name, cutoff: null, rows: 0, partitions: 0, status: 'skipped' };
    const cutoff = periodCutoff(now, spec.periodDays);
    const outcome: ClassOutcome = {
      name: spec.name,
      cutoff: cutoff.toISOString(),
      rows: resumed?.rows ?? 0,
      partitions: resumed?.partitions ?? 0,
      status: dryRun ? 'dry-run' : 'done',
    };
    const save = async (status: 'running' | ClassOutcome['status']) => {
      if (!runId) return;
      const values = {
        rows: outcome.rows,
        partitions: outcome.partitions,
        status: status as 'running',
        error: outcome.error ?? null,
        updatedAt: this.#now(),
      };
      await this.#c.db
        .insert(classRuns)
        .values({ runId, className: spec.name, cutoff, ...values })
        .onConflictDoUpdate({ target: [classRuns.runId, classRuns.className], set: values });
    };
    try {
      if (await this.#classHeld(spec.name, now)) {
        outcome.status = 'held';
        await save('held');
        return outcome;
      }
      const heldSubjects = await this.#c.heldSubjects(spec.name);
      const planCutoffs = new Map(
        Object.entries(spec.perPlanDays ?? {}).map(([plan, days]) => [plan, periodCutoff(now, days)]),
      );
      const limit = this.#c.batchSize ?? 5000;
      for (;;) {
        const step = await spec.purgeBatch({ cutoff, planCutoffs, limit, dryRun, heldSubjects });
        outcome.rows += step.rows;
        outcome.partitions += step.partitions ?? 0;
        if (!dryRun && step.rows > 0) this.#c.onPurged?.(spec.name, step.rows);
        this.#c.onProgress?.(outcome);
        onProgress?.(outcome);
        if (dryRun || step.done) break;
        if (this.#c.pauseMs) await new Promise((r) => setTimeout(r, this.#c.pauseMs));
        if (!(await this.#lease())) throw new LeaseLost();
        await save('running');
      }
      if (dryRun) return outcome;
      await save('done');
      await this.#c.record({
        action: 'retention.purged',
        resource: `retention-class:${spec.name}`,
        outcome: 'success',
        durability: 'sync',
        details: {
          class: spec.name,
          cutoff: outcome.cutoff,
          rows: outcome.rows,
          partitions: outcome.partitions,
          durationMs: Date.now() - started,
        },
      });
      return outcome;
    } catch (error) {
      outcome.status = 'failed';
      outcome.error = errorCode(error);
      this.#c.onClassFailed?.(spec.name);
      // One class failing never skips the next: it is reported, and the run says so.
      await save('failed').catch(() => undefined);
      await this.#c
        .record({
          action: 'retention.failed',
          resource: `retention-class:${spec.name}`,
          outcome: 'failure',
          durability: 'sync',
          details: { class: spec.name, cutoff: outcome.cutoff, rows: outcome.rows, error: outcome.error },
        })
        .catch(() => undefined);
      return outcome;
    }
  }

  async #classHeld(className: string, now: Date): Promise<boolean> {
    const [row] = await this.#c.db
      .select({ id: holds.id })
      .from(holds)
      .where(
        and(
          eq(holds.className, className),
          isNull(holds.subjectId),
          isNull(holds.releasedAt),
          or(isNull(holds.until), gt(holds.until, now)),
        ),
      )
      .limit(1);
    return Boolean(row);
  }

  /** When the latest finished run of each status (`done`, `failed`) ended, by any replica or `hf-retention run`. */
  async lastFinished(): Promise<Partial<Record<'done' | 'failed', Date>>> {
    const rows = await this.#c.db
      .select({ status: runs.status, at: sql<string>`max(${runs.finishedAt})` })
      .from(runs)
      .where(isNotNull(runs.finishedAt))
      .groupBy(runs.status);
    return Object.fromEntries(
      rows.filter((r) => r.at && (r.status === 'done' || r.status === 'failed')).map((r) => [r.status, new Date(r.at)]),
    );
  }

  /** The most recent run that changed anything (for the admin's view). */
  async lastRun(): Promise<{ id: string; startedAt: string; finishedAt: string | null; status: string } | null> {
    const [row] = await this.#c.db
      .select()
      .from(runs)
      .orderBy(sql`${runs.startedAt} desc`)
      .limit(1);
    return row
      ? {
          id: row.id,
          startedAt: row.startedAt.toISOString(),
          finishedAt: row.finishedAt?.toISOString() ?? null,
          status: row.status,
        }
      : null;
  }
}
