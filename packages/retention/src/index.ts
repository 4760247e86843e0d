import './fastify.js';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import type { MigrationSet } from '@harakaflow/db';
import plugin from './plugin.js';

/** The package's migrations (schema `retention`), for `@harakaflow/db`'s migrate. */
export const retentionMigrations: MigrationSet = {
  name: 'retention',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export const harakaflowRetention = fp(plugin, { name: '@harakaflow/retention', fastify: '5.x' });
export default harakaflowRetention;
export type { RetentionDecorator } from './fastify.js';
export type { RetentionOptions } from './options.js';
export { periodCutoff } from './runner.js';
export type { ClassOutcome, RetentionRunner, RunResult } from './runner.js';
export { Holds } from './holds.js';
export type { Hold } from './holds.js';
export { tableClass } from './table-class.js';
export { HoldNotFound, InvalidHold, LeaseLost, RetentionInvalidOption, UnknownClass } from './errors.js';
export type { RetentionErrorCode } from './errors.js';
