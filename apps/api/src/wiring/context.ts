/**
 * What the wiring table is made of: a step's shape, the context its options are made from, and settings several steps
 * share.
 */
import type { DatabaseHandle, MigrationSet } from '@harakaflow/db';
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback, FastifyPluginOptions } from 'fastify';
import type { AppConfig } from '../config/config.js';
import type { QuotaRedis } from './redis.js';

/** What a step's options are made from. */
export interface WiringContext {
  app: FastifyInstance;
  config: AppConfig;
  database: DatabaseHandle;
  /**
   * The quota store's Redis client (one server, Sentinel or Cluster), when Redis is configured (connected by buildApp).
   */
  redis: QuotaRedis | undefined;
}

/** The app's database, as the reactions and stores take it. */
export type Db = DatabaseHandle['db'];

export interface WiringStep {
  /** The plugin's name, as the README's wiring table and the boot log say it. */
  name: string;
  // The options are the plugin's own; a step's `options` is checked against them by `step()`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugin: FastifyPluginAsync<any> | FastifyPluginCallback<any>;
  options?: (w: WiringContext) => object;
  /** The package's tables, applied in table order (after the app's own). */
  migrations?: MigrationSet;
  /** Why the plugin sits here and not elsewhere. */
  why: string;
  /** Decorators of plugins registered later that this step's callbacks use at run time: checked at boot. */
  late?: readonly string[];
  /** Run right after the plugin is registered (handlers and classes the app adds beside it). */
  then?: (w: WiringContext) => void;
}

/**
 * A step, its options typed by its plugin's: `step(plugin)({ ... })`. (Two calls: the plugin fixes
 * the options' type first, so the options' object literal is checked against it as written.)
 */
export function step<O extends FastifyPluginOptions>(plugin: FastifyPluginAsync<O> | FastifyPluginCallback<O>) {
  return (s: Omit<WiringStep, 'plugin' | 'options'> & { options?: (w: WiringContext) => O }): WiringStep =>
    ({ ...s, plugin }) as WiringStep;
}

/** Production: Secure cookies (and their `__Host-` names), HSTS, the OpenAPI document hidden. */
export const secure = (config: AppConfig) => config.env === 'production';

/** Where the keys that verify receipts are published (in the messages that carry a receipt). */
export const keysUrl = (config: AppConfig) => `${config.publicUrl}/.well-known/harakaflow-signing-keys.json`;
