import {
  errorCodes,
  heldSubjects,
  personalDataHandlers,
  registerPersonalDataHandler,
  registerRestrictionSource,
  registerRetentionClass,
  securityEvent,
  subjectHolds,
  type SubjectHold,
  type SubjectRef,
} from '@harakaflow/core';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import './fastify.js';
import { dataRightsMetrics } from './metrics.js';
import { resolveOptions, type DataRightsOptions } from './options.js';
import { RIGHTS_REQUESTS_CLASS } from './retention.js';
import { DataRights } from './service.js';

/**
 * The legal holds covering a subject (§4): every source's, with their class and reason (core's
 * `subjectHolds`: @harakaflow/retention's in the app), and, for a source that only says which
 * subjects a class keeps (core's `heldSubjects`), a hold without details on each class a handler
 * names that it keeps the subject in. An email subject has no account to hold.
 */
async function holdsOf(fastify: FastifyInstance, ref: SubjectRef): Promise<SubjectHold[]> {
  if (ref.kind === 'email') return [];
  const found = await subjectHolds(fastify, ref.accountId);
  const classes = new Set(personalDataHandlers(fastify, ref.kind).flatMap((h) => h.retentionClasses ?? []));
  for (const c of classes) {
    if (found.some((h) => h.class === c || h.class === null)) continue;
    if ((await heldSubjects(fastify, c)).includes(ref.accountId))
      found.push({ id: `hold-source:${c}`, class: c, reason: 'a legal hold (its source gives no details)' });
  }
  return found;
}

/**
 * @harakaflow/data-rights: registers `fastify.dataRights`, its own personal-data handler and the
 * restriction source, and runs the jobs (purges, deadline alerts, export clean-up) every
 * `sweepIntervalMs` in every replica; each job is safe to run in several at once.
 */
const dataRightsPlugin: FastifyPluginAsync<DataRightsOptions> = async (fastify, options) => {
  const o = resolveOptions(options);
  const reported = dataRightsMetrics(fastify, o.config.db, o.config.now);
  const service = new DataRights({
    ...o.config,
    handlers: (kind) => personalDataHandlers(fastify, kind),
    // §4 legal holds (core's registry; @harakaflow/retention is one source): a held account's purge waits.
    isHeld: async (ref) =>
      ref.kind !== 'email' && (await heldSubjects(fastify, 'deleted_accounts')).includes(ref.accountId),
    // A hold on a class keeps, through the erasure, the data of the handlers that name it (issue 30 item 2).
    holdsOf: (ref) => holdsOf(fastify, ref),
    record: (event) => securityEvent(fastify, undefined, event),
    log: fastify.log,
    kick: () => void setImmediate(() => void sweep()),
    onFulfilled: reported.fulfilled,
  });
  fastify.decorate('dataRights', service);
  registerPersonalDataHandler(fastify, service.personalData());
  registerRestrictionSource(fastify, (accountId) => service.isRestricted(accountId));
  // §4, §6 (issue 32): a closed request, its thread's messages and their sealed copies, kept as proof for retainDays.
  registerRetentionClass(fastify, {
    name: RIGHTS_REQUESTS_CLASS,
    policyClause: `§4, §6: privacy requests once closed, with the messages they came in by (sealed), kept ${o.config.retainDays} days as the proof that each was answered`,
    periodDays: o.config.retainDays,
    purgeBatch: (batch) => service.purgeClosed(batch),
  });

  let running: Promise<void> | undefined;
  let again = false;
  const sweep = (): Promise<void> => {
    // A kick while a sweep runs: one more sweep after it, so the newly due job is not missed.
    if (running) {
      again = true;
      return running;
    }
    return (running = (async () => {
      await service.runDueErasures();
      await service.releaseHeldErasures();
      await service.checkDeadlines();
      await service.intake.sweep();
      await service.resumeExports();
      await service.sweepExports();
    })()
      .catch((error: unknown) =>
        fastify.log.error({ err: errorCodes(error) }, 'data rights: a job failed; it runs again at the next sweep'),
      )
      .finally(() => {
        running = undefined;
        if (again && !closing) {
          again = false;
          void sweep();
        }
      }));
  };
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  fastify.addHook('onReady', async () => {
    void sweep();
    if (o.sweepIntervalMs > 0) {
      timer = setInterval(() => void sweep(), o.sweepIntervalMs);
      timer.unref();
    }
  });
  fastify.addHook('onClose', async () => {
    closing = true;
    clearInterval(timer);
    await running;
  });
};

export default dataRightsPlugin;
