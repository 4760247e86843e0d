import { errorCodes, heldSubjects, personalDataHandlers, registerPersonalDataHandler, registerRestrictionSource, securityEvent } from '@harakaflow/core';
import type { FastifyPluginAsync } from 'fastify';
import './fastify.js';
import { dataRightsMetrics } from './metrics.js';
import { resolveOptions, type DataRightsOptions } from './options.js';
import { DataRights } from './service.js';

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
    isHeld: async (ref) => ref.kind !== 'email' && (await heldSubjects(fastify, 'deleted_accounts')).includes(ref.accountId),
    record: (event) => securityEvent(fastify, undefined, event),
    log: fastify.log,
    kick: () => void setImmediate(() => void sweep()),
    onFulfilled: reported.fulfilled,
  });
  fastify.decorate('dataRights', service);
  registerPersonalDataHandler(fastify, service.personalData());
  registerRestrictionSource(fastify, (accountId) => service.isRestricted(accountId));

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
      await service.checkDeadlines();
      await service.resumeExports();
      await service.sweepExports();
    })()
      .catch((error: unknown) => fastify.log.error({ err: errorCodes(error) }, 'data rights: a job failed; it runs again at the next sweep'))
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
