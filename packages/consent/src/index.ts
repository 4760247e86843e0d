// The declaration merging of request.consent (and @fastify/cookie's) travels with the entry point.
import './fastify.js';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '@harakaflow/db';
import consent from './plugin.js';

export type { ConsentOptions, CookieEntry } from './options.js';
export { ConsentState } from './evaluate.js';
export type { Evaluation, StateSource } from './evaluate.js';
export { needsReacceptance, NOTICE_DAYS } from './policy.js';
export type { PolicyVersion, PolicyVersionInput, UpcomingPolicy } from './policy.js';
export { consentPersonalData } from './ledger.js';
export { consentRetentionClass, DECISION_MAX_AGE_DAYS, LEDGER_PERSONAL_DAYS, LEDGER_PROOF_DAYS } from './retention.js';
export { ConsentInvalidOption, ConsentNoticePeriod, InvalidBody } from './errors.js';
export type { ConsentErrorCode } from './errors.js';

/** The ledger's migrations (schema `consent`), for `@harakaflow/db`'s `migrate`. */
export const consentMigrations: MigrationSet = {
  name: 'consent',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

/** The plugin. Needs @fastify/cookie registered first. */
export const harakaflowConsent = fp(consent, {
  name: '@harakaflow/consent',
  fastify: '5.x',
  dependencies: ['@fastify/cookie'],
});
export default harakaflowConsent;
