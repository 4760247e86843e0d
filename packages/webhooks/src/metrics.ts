/**
 * What webhooks reports through core's metrics interface: the outbox read at scrape time (at most
 * once a second, one statement on the pending and failed partial indexes) and every delivery
 * attempt's outcome. No label names an account, an endpoint or a URL.
 */
import { cachedFor, gaugesFrom, metrics, SCRAPE_CACHE_MS } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { inArray, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { deliveries } from './schema.js';

/**
 * Deliveries waiting, given up and held (both kept until their retention purge), and how long the
 * oldest waiting one has waited, ms (0: none). One statement; the held count is a subquery of its
 * own so that it reads the held partial index.
 */
export async function outboxStats(
  db: Database,
  now: Date,
): Promise<{ pending: number; failed: number; held: number; oldestPendingMs: number }> {
  const [row] = await db
    .select({
      pending: sql<number>`count(*) filter (where ${deliveries.status} = 'pending')::int`,
      failed: sql<number>`count(*) filter (where ${deliveries.status} = 'failed')::int`,
      oldest: sql<string | null>`min(${deliveries.createdAt}) filter (where ${deliveries.status} = 'pending')`,
      held: sql<number>`(select count(*)::int from ${deliveries} where ${deliveries.status} = 'held')`,
    })
    .from(deliveries)
    .where(inArray(deliveries.status, ['pending', 'failed']));
  const oldest = row?.oldest ? new Date(row.oldest).getTime() : null;
  return {
    pending: Number(row?.pending ?? 0),
    failed: Number(row?.failed ?? 0),
    held: Number(row?.held ?? 0),
    oldestPendingMs: oldest === null ? 0 : Math.max(0, now.getTime() - oldest),
  };
}

export function webhookMetrics(fastify: FastifyInstance, db: Database) {
  const m = metrics(fastify);
  const stats = cachedFor(SCRAPE_CACHE_MS, async () => {
    const s = await outboxStats(db, new Date());
    return { pending: s.pending, failed: s.failed, held: s.held, oldest: s.oldestPendingMs / 1000 };
  });
  gaugesFrom(m, stats, {
    pending: {
      name: 'harakaflow_webhook_deliveries_pending',
      help: 'Webhook deliveries waiting to be sent or retried (every replica)',
    },
    failed: {
      name: 'harakaflow_webhook_deliveries_failed',
      help: 'Webhook deliveries given up after every retry, still on record (kept 30 days)',
    },
    held: {
      name: 'harakaflow_webhook_deliveries_held',
      help: 'Webhook deliveries held for a disabled endpoint, sent once it is enabled (kept 30 days)',
    },
    oldest: {
      name: 'harakaflow_webhook_oldest_pending_seconds',
      help: 'How long the oldest waiting webhook delivery has waited (0 when none waits)',
    },
  });
  return {
    attempts: m.counter({
      name: 'harakaflow_webhook_attempts_total',
      help: 'Webhook delivery attempts by this replica, by outcome: delivered, retry, failed (given up), gone (410)',
      labelNames: ['outcome'],
    }),
  };
}
