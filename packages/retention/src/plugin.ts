/**
 * The retention plugin: `fastify.retention` (the runner, the holds, the classes' view), the hold
 * source every purge consults (core's registry), and the schedule: a run every `intervalMinutes`
 * (with up to 10% jitter, so replicas do not all try at once; the lease lets one through).
 */
import {
  errorCodes,
  heldSubjects,
  registerHoldSource,
  registerSubjectHoldSource,
  retentionClasses,
  securityEvent,
} from '@harakaflow/core';
import type { FastifyPluginAsync } from 'fastify';
import './fastify.js';
import type { RetentionDecorator } from './fastify.js';
import { resolveOptions, type RetentionOptions } from './options.js';
import { Holds } from './holds.js';
import { retentionMetrics } from './metrics.js';
import { RetentionRunner } from './runner.js';

const plugin: FastifyPluginAsync<RetentionOptions> = async (fastify, options) => {
  const { db, interval, batchSize, pauseMs, leaseMs, now } = resolveOptions(options);
  const record = (event: Parameters<typeof securityEvent>[2]) => securityEvent(fastify, undefined, event);
  const holds = new Holds({ db, classNames: () => retentionClasses(fastify).map((c) => c.name), record, now });
  registerHoldSource(fastify, (className) => holds.subjectsHeld(className));
  // What an erasure (data rights) keeps of a subject: each hold with its class and reason.
  registerSubjectHoldSource(fastify, (subjectId) => holds.holdsOn(subjectId));
  const reported = retentionMetrics(fastify, () => runner.lastFinished());
  const runner = new RetentionRunner({
    db,
    classes: () => retentionClasses(fastify),
    heldSubjects: (c) => heldSubjects(fastify, c),
    record,
    batchSize,
    pauseMs,
    leaseMs,
    now,
    onPurged: (name, rows) => reported.rowsPurged.inc({ class: name }, rows),
    onClassFailed: (name) => reported.classFailures.inc({ class: name }),
  });

  fastify.decorate('retention', {
    runner,
    holds,
    async status() {
      const classes = [];
      for (const c of retentionClasses(fastify)) {
        const oldest = c.oldest ? await c.oldest().catch(() => null) : null;
        classes.push({
          name: c.name,
          clause: c.policyClause,
          periodDays: c.periodDays,
          perPlanDays: { ...c.perPlanDays },
          oldest: oldest?.toISOString() ?? null,
        });
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
      timer = setTimeout(
        () => {
          running = runner
            .run()
            .then((r) => {
              if (r.status === 'failed')
                fastify.log.error(
                  {
                    classes: r.classes
                      .filter((c) => c.status === 'failed')
                      .map((c) => ({ name: c.name, error: c.error })),
                  },
                  'retention: classes failed',
                );
            })
            .catch((error: unknown) => fastify.log.error({ err: errorCodes(error) }, 'retention: the run failed'))
            .finally(next);
        },
        interval * 60_000 * (1 + Math.random() * 0.1),
      );
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
