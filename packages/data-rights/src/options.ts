import { checkDatabaseOption, integerOption } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { invalidOption } from './errors.js';
import { SigningKeys } from './signing.js';
import type { DataRightsConfig, ExportKeyStore, RightsRequest } from './types.js';

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
  onRequesterUpdate?: DataRightsConfig['onRequesterUpdate'];
  addressOf?: DataRightsConfig['addressOf'];
  onAlert?: DataRightsConfig['onAlert'];
  withdrawConsent?: DataRightsConfig['withdrawConsent'];
  /** The account whose verified address this is: a request made with its code is about the account (issue 32). */
  accountByEmail?: DataRightsConfig['accountByEmail'];
  /** Where messages read from the privacy mailbox are kept sealed (the vault in the app); unset: not kept. */
  evidence?: DataRightsConfig['evidence'];
  /**
   * The Article 15 statement of each export (purposes, categories, recipients, retention, sources,
   * transfers, rights), built by the host from its registries once the parts are written; it goes
   * into the document and the zip (`article15.html`), hashed in the signed manifest. Unset: none.
   */
  article15?: DataRightsConfig['article15'];
  /**
   * Days a closed request is kept (its thread's messages with it) before retention deletes it: class `rights_requests`.
   * Default 1095 (3 years).
   */
  retainDays?: number | undefined;
  now?: (() => number) | undefined;
}

const bounded = (name: string, value: unknown, fallback: number, min: number, max: number): number =>
  integerOption(invalidOption, name, value ?? undefined, fallback, min, max);

type Checked = Pick<
  DataRightsConfig,
  | 'db'
  | 'signingKeys'
  | 'subjectKey'
  | 'keyStore'
  | 'dueDays'
  | 'purgeAfterDays'
  | 'exportTtlHours'
  | 'dueSoonDays'
  | 'verifyWithinDays'
  | 'leaseMs'
  | 'now'
  | 'accountExists'
  | 'onPendingDeletion'
  | 'onUpdate'
  | 'onRequesterUpdate'
  | 'addressOf'
  | 'onAlert'
  | 'withdrawConsent'
  | 'accountByEmail'
  | 'evidence'
  | 'retainDays'
  | 'article15'
>;

/**
 * The options checked (HF_DATA_RIGHTS_INVALID_OPTION naming the option): the service's part of its config, and the
 * sweep's interval.
 */
export function resolveOptions(options: DataRightsOptions): { config: Checked; sweepIntervalMs: number } {
  const db = checkDatabaseOption(options.db, invalidOption);
  const signingKeys =
    options.signingKeys instanceof SigningKeys ? options.signingKeys : new SigningKeys(options.signingKeys);
  const subjectKey = typeof options.subjectKey === 'string' ? Buffer.from(options.subjectKey) : options.subjectKey;
  if (!Buffer.isBuffer(subjectKey) || subjectKey.length < 32)
    throw invalidOption('subjectKey', 'must be at least 32 bytes');
  const ks = options.keyStore;
  if (!ks || typeof ks.put !== 'function' || typeof ks.get !== 'function' || typeof ks.delete !== 'function')
    throw invalidOption('keyStore', 'must have put, get and delete');
  if (typeof options.accountExists !== 'function')
    throw invalidOption('accountExists', 'must be a function (accountId) => Promise<boolean>');
  if (options.accountByEmail !== undefined && typeof options.accountByEmail !== 'function')
    throw invalidOption('accountByEmail', 'must be a function (email) => Promise<string | null>');
  const ev = options.evidence;
  if (options.article15 !== undefined && typeof options.article15 !== 'function')
    throw invalidOption('article15', 'must be a function ({ ref, parts }) => the Article 15 statement');
  if (
    ev !== undefined &&
    (!ev || typeof ev.put !== 'function' || typeof ev.get !== 'function' || typeof ev.deleteAll !== 'function')
  )
    throw invalidOption('evidence', 'must have put, get and deleteAll');
  return {
    sweepIntervalMs: bounded('sweepIntervalMs', options.sweepIntervalMs, 60_000, 0, 86_400_000),
    config: {
      db,
      signingKeys,
      subjectKey,
      keyStore: ks,
      dueDays: bounded('dueDays', options.dueDays, 30, 1, 30),
      purgeAfterDays: bounded('purgeAfterDays', options.purgeAfterDays, 7, 0, 30),
      exportTtlHours: bounded('exportTtlHours', options.exportTtlHours, 120, 1, 24 * 30),
      dueSoonDays: bounded('dueSoonDays', options.dueSoonDays, 7, 1, 29),
      verifyWithinDays: bounded('verifyWithinDays', options.verifyWithinDays, 30, 1, 90),
      leaseMs: bounded('leaseMs', options.leaseMs, 300_000, 1000, 86_400_000),
      now: options.now ?? Date.now,
      accountExists: options.accountExists,
      onPendingDeletion: options.onPendingDeletion,
      onUpdate: options.onUpdate,
      onRequesterUpdate: options.onRequesterUpdate,
      addressOf: options.addressOf,
      onAlert: options.onAlert,
      withdrawConsent: options.withdrawConsent,
      accountByEmail: options.accountByEmail,
      evidence: ev,
      article15: options.article15,
      retainDays: bounded('retainDays', options.retainDays, 1095, 30, 3650),
    },
  };
}
