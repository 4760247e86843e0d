/**
 * What retention reports through core's metrics interface: rows purged and classes failed by this
 * replica's runs, and when the last run of each outcome finished (read from the runs table at
 * scrape time, at most once a second, so every replica reports runs made by any of them or by
 * `hf-retention run`). Labels are class names and outcomes.
 */
import { cachedFor, metrics, SCRAPE_CACHE_MS } from '@harakaflow/core';
import type { FastifyInstance } from 'fastify';
import type { RetentionRunner } from './runner.js';

export function retentionMetrics(
  fastify: FastifyInstance,
  lastFinished: () => ReturnType<RetentionRunner['lastFinished']>,
) {
  const m = metrics(fastify);
  const finished = cachedFor(SCRAPE_CACHE_MS, lastFinished);
  m.gauge({
    name: 'harakaflow_retention_last_run_timestamp_seconds',
    help: 'When the latest retention run that ended done (or failed) finished, Unix seconds; 0 for done when none has',
    labelNames: ['status'],
    collect: async (g) => {
      const last = await finished();
      g.set((last.done?.getTime() ?? 0) / 1000, { status: 'done' });
      if (last.failed) g.set(last.failed.getTime() / 1000, { status: 'failed' });
    },
  });
  return {
    rowsPurged: m.counter({
      name: 'harakaflow_retention_rows_purged_total',
      help: 'Rows removed by retention purges run in this replica, by class',
      labelNames: ['class'],
    }),
    classFailures: m.counter({
      name: 'harakaflow_retention_class_failures_total',
      help: "Retention classes whose purge failed in this replica's runs, by class",
      labelNames: ['class'],
    }),
  };
}
