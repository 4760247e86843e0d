/**
 * The retention plugin: `fastify.retention` (the runner, the holds, the classes' view), the hold
 * source every purge consults (core's registry), and the schedule: a run every `intervalMinutes`
 * (with up to 10% jitter, so replicas do not all try at once; the lease lets one through).
 */
import { checkDatabaseOption, errorCodes, integerOption, heldSubjects, registerHoldSource, retentionClasses, securityEvent } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyPluginAsync } from 'fastify';
import { invalidOption } from './errors.js';
import { Holds } from './holds.js';
import { RetentionRunner } from './runner.js';

export interface RetentionOptions {
  db: Database;
  /** Minutes between scheduled runs; 0 for none here (`hf-retention run` on demand). Default 60. */
  intervalMinutes?: number | undefined;
  /** Rows a batch removes (one statement). Default 5,000. */
  batchSize?: number | undefined;
  /**
   * A pause after each batch, ms (default 0): the throttle that trades purge speed for the
   * latency of the requests served meanwhile (packages/retention/bench measures both ends).
   */
  pauseMs?: number | undefined;
  /** How long the run's lease lasts between batches, ms. Default 120,000. */
  leaseMs?: number | undefined;
  now?: (() => number) | undefined;
}

export interface RetentionDecorator {
  runner: RetentionRunner;
  holds: Holds;
  /** GET /v1/admin/retention: every class (its clause, period, oldest row), the holds, the last run. */
  status(): Promise<{ classes: { name: string; clause: string; periodDays: number | null; perPlanDays: Record<string, number>; oldest: string | null }[]; holds: Awaited<ReturnType<Holds['list']>>; lastRun: Awaited<ReturnType<RetentionRunner['lastRun']>> }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Retention classes, their runner and legal holds (@harakaflow/retention). */
    retention: RetentionDecorator;
  }
}

const plugin: FastifyPluginAsync<RetentionOptions> = async (fastify, options) => {
  const db = checkDatabaseOption(options.db, invalidOption);
  const interval = integerOption(invalidOption, 'intervalMinutes', options.intervalMinutes, 60, 0); // 0: no schedule
  const batchSize = integerOption(invalidOption, 'batchSize', options.batchSize, 5000, 1, 100_000);
  const pauseMs = integerOption(invalidOption, 'pauseMs', options.pauseMs, 0, 0, 60_000);
  const now = options.now ?? Date.now;
  const record = (event: Parameters<typeof securityEvent>[2]) => securityEvent(fastify, undefined, event);
  const holds = new Holds({ db, classNames: () => retentionClasses(fastify).map((c) => c.name), record, now });
  registerHoldSource(fastify, (className) => holds.subjectsHeld(className));
  const runner = new RetentionRunner({ db, classes: () => retentionClasses(fastify), heldSubjects: (c) => heldSubjects(fastify, c), record, batchSize, pauseMs, leaseMs: options.leaseMs, now });

  fastify.decorate('retention', {
    runner,
    holds,
    async status() {
      const classes = [];
      for (const c of retentionClasses(fastify)) {
        const oldest = c.oldest ? await c.oldest().catch(() => null) : null;
        classes.push({ name: c.name, clause: c.policyClause, periodDays: c.periodDays, perPlanDays: { ...c.perPlanDays }, oldest: oldest?.toISOString() ?? null });
      }
      return { classes, holds: await holds.list(), lastRun: await runner.lastRun() };
    },
  } satisfies RetentionDecorator);

  if (interval > 0) {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> | undefined;
    let closing = false;
    const next = () => {
      if (closing) return;
      timer = setTimeout(() => {
        running = runner
          .run()
          .then((r) => {
            if (r.status === 'failed') fastify.log.error({ classes: r.classes.filter((c) => c.status === 'failed').map((c) => ({ name: c.name, error: c.error })) }, 'retention: classes failed');
          })
          .catch((error: unknown) => fastify.log.error({ err: errorCodes(error) }, 'retention: the run failed'))
          .finally(next);
      }, interval * 60_000 * (1 + Math.random() * 0.1));
      timer.unref();
    };
    fastify.addHook('onReady', async () => next());
    fastify.addHook('onClose', async () => {
      closing = true;
      clearTimeout(timer);
      await running;
    });
  }
};

export default plugin;
