import { checkDatabaseOption, integerOption } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { invalidOption } from './errors.js';

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

/** The options checked (HF_RETENTION_INVALID_OPTION naming the option) with their defaults. */
export function resolveOptions(options: RetentionOptions) {
  return {
    db: checkDatabaseOption(options.db, invalidOption),
    interval: integerOption(invalidOption, 'intervalMinutes', options.intervalMinutes, 60, 0), // 0: no schedule
    batchSize: integerOption(invalidOption, 'batchSize', options.batchSize, 5000, 1, 100_000),
    pauseMs: integerOption(invalidOption, 'pauseMs', options.pauseMs, 0, 0, 60_000),
    leaseMs: integerOption(invalidOption, 'leaseMs', options.leaseMs, 120_000, 1000, 86_400_000),
    now: options.now ?? Date.now,
  };
}
