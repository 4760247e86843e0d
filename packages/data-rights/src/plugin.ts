import { errorCodes, heldSubjects, personalDataHandlers, registerPersonalDataHandler, registerRestrictionSource, securityEvent, checkDatabaseOption, integerOption } from '@harakaflow/core';
import type { FastifyPluginAsync } from 'fastify';
import { invalidOption } from './errors.js';
import { DataRights } from './service.js';
import type { DataRightsConfig } from './types.js';
import { SigningKeys } from './signing.js';
import type { ExportKeyStore } from './storage.js';
import type { RightsRequest } from './types.js';
import type { Database } from '@harakaflow/db';

declare module 'fastify' {
  interface FastifyInstance {
    dataRights: DataRights;
  }
}

export interface DataRightsOptions {
  db: Database;
  /** `id:base64(32-byte Ed25519 seed)[,...]`: the first signs manifests and receipts. */
  signingKeys: string | SigningKeys;
  /** Key of the subject hashes a request keeps after its subject is erased: 32 bytes or more. */
  subjectKey: string | Buffer;
  /** Where exports' data keys and tokens are kept (the credential vault in the app). */
  keyStore: ExportKeyStore;
  /** Does an account exist? Requests about unknown accounts are refused (HF_DATA_RIGHTS_SUBJECT_NOT_FOUND). */
  accountExists: (accountId: string) => Promise<boolean>;
  /** Days to answer a request (policy §6: 30). */
  dueDays?: number | undefined;
  /** Days between a deletion request and its purge, 0 to 30 (policy §4: within 30). Default 7. */
  purgeAfterDays?: number | undefined;
  /** Hours an export link stays valid. Default 120. */
  exportTtlHours?: number | undefined;
  /** The due-soon alert, days before the due date. Default 7. */
  dueSoonDays?: number | undefined;
  /** An emailed request not verified in this many days expires. Default 30. */
  verifyWithinDays?: number | undefined;
  /** How often the jobs (purges, alerts, exports) run, ms; 0: only when asked. Default 60,000. */
  sweepIntervalMs?: number | undefined;
  /** An erasure job's lease, ms: another replica takes a job over once it runs out. Default 300,000. */
  leaseMs?: number | undefined;
  onPendingDeletion?: DataRightsConfig['onPendingDeletion'];
  onUpdate?: ((request: RightsRequest, accountId: string) => Promise<void>) | undefined;
  onAlert?: DataRightsConfig['onAlert'];
  withdrawConsent?: DataRightsConfig['withdrawConsent'];
  now?: (() => number) | undefined;
}

const bounded = (name: string, value: unknown, fallback: number, min: number, max: number): number => integerOption(invalidOption, name, value ?? undefined, fallback, min, max);

/**
 * @harakaflow/data-rights: registers `fastify.dataRights`, its own personal-data handler and the
 * restriction source, and runs the jobs (purges, deadline alerts, export clean-up) every
 * `sweepIntervalMs` in every replica; each job is safe to run in several at once.
 */
const dataRightsPlugin: FastifyPluginAsync<DataRightsOptions> = async (fastify, options) => {
  const db = checkDatabaseOption(options.db, invalidOption);
  const signingKeys = options.signingKeys instanceof SigningKeys ? options.signingKeys : new SigningKeys(options.signingKeys);
  const subjectKey = typeof options.subjectKey === 'string' ? Buffer.from(options.subjectKey) : options.subjectKey;
  if (!Buffer.isBuffer(subjectKey) || subjectKey.length < 32) throw invalidOption('subjectKey', 'must be at least 32 bytes');
  const ks = options.keyStore;
  if (!ks || typeof ks.put !== 'function' || typeof ks.get !== 'function' || typeof ks.delete !== 'function') throw invalidOption('keyStore', 'must have put, get and delete');
  if (typeof options.accountExists !== 'function') throw invalidOption('accountExists', 'must be a function (accountId) => Promise<boolean>');
  const now = options.now ?? Date.now;
  const sweepIntervalMs = bounded('sweepIntervalMs', options.sweepIntervalMs, 60_000, 0, 86_400_000);
  const service = new DataRights({
    db,
    signingKeys,
    subjectKey,
    keyStore: ks,
    handlers: (kind) => personalDataHandlers(fastify, kind),
    // §4 legal holds (core's registry; @harakaflow/retention is one source): a held account's purge waits.
    isHeld: async (ref) => ref.kind !== 'email' && (await heldSubjects(fastify, 'deleted_accounts')).includes(ref.accountId),
    record: (event) => securityEvent(fastify, undefined, event),
    log: fastify.log,
    dueDays: bounded('dueDays', options.dueDays, 30, 1, 30),
    purgeAfterDays: bounded('purgeAfterDays', options.purgeAfterDays, 7, 0, 30),
    exportTtlHours: bounded('exportTtlHours', options.exportTtlHours, 120, 1, 24 * 30),
    dueSoonDays: bounded('dueSoonDays', options.dueSoonDays, 7, 1, 29),
    verifyWithinDays: bounded('verifyWithinDays', options.verifyWithinDays, 30, 1, 90),
    leaseMs: bounded('leaseMs', options.leaseMs, 300_000, 1000, 86_400_000),
    now,
    accountExists: options.accountExists,
    onPendingDeletion: options.onPendingDeletion,
    onUpdate: options.onUpdate,
    onAlert: options.onAlert,
    withdrawConsent: options.withdrawConsent,
    kick: () => void setImmediate(() => void sweep()),
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
    if (sweepIntervalMs > 0) {
      timer = setInterval(() => void sweep(), sweepIntervalMs);
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
