/**
 * What notify reports through core's metrics interface: the outbox read at scrape time (at most
 * once a second). No label names a person, an address or an account.
 */
import { cachedFor, gaugesFrom, metrics, SCRAPE_CACHE_MS } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyInstance } from 'fastify';
import { outboxStats } from './outbox-admin.js';

export function notifyMetrics(fastify: FastifyInstance, db: Database, now: () => number): void {
  const stats = cachedFor(SCRAPE_CACHE_MS, async () => {
    const s = await outboxStats(db, new Date(now()));
    return { pending: s.pending, failed: s.failed, bouncing: s.bouncing, oldest: s.oldestPendingMs / 1000 };
  });
  gaugesFrom(metrics(fastify), stats, {
    pending: {
      name: 'harakaflow_notify_outbox_pending',
      help: 'Notifications waiting to be sent or retried (every replica)',
    },
    failed: {
      name: 'harakaflow_notify_outbox_failed',
      help: 'Notifications given up (a permanent refusal or every retry failed), still on record (kept 30 days)',
    },
    bouncing: {
      name: 'harakaflow_notify_addresses_bouncing',
      help: 'Addresses a mail server refused for good or whose owner reported a message as spam: no optional notification is sent to them until cleared (hf-notify)',
    },
    oldest: {
      name: 'harakaflow_notify_oldest_pending_seconds',
      help: 'How long the oldest waiting notification has waited (0 when none waits)',
    },
  });
}
