import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import './fastify.js';
import quota from './plugin.js';

export { clientKey, DEFAULT_PLANS } from './core.js';
export type { LimitSpec, Plan } from './core.js';
export { QuotaBanned, QuotaExceeded, QuotaInvalidOption, QuotaUnavailable, QuotaUnknownPlan } from './errors.js';
export type { QuotaErrorCode } from './errors.js';
export type { QuotaDecorator } from './fastify.js';
export type { QuotaOptions, RouteQuota, WarningInfo } from './options.js';
export type { StoreKind } from './store-config.js';

/** The quota package's migrations (schema `quota`). */
export const quotaMigrations: MigrationSet = {
  name: 'quota',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export const harakaflowQuota = fp(quota, { name: '@harakaflow/quota', fastify: '5.x' });
export default harakaflowQuota;
