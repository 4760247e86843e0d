/**
 * What data rights reports through core's metrics interface: requests open and overdue by kind
 * (read at scrape time, at most once a second, one statement on the open requests' index), and the
 * time from receipt to fulfilment, observed when a request is fulfilled. Labels are request kinds.
 */
import { cachedFor, metrics, SCRAPE_CACHE_MS } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { requests } from './schema.js';
import { ALL_REQUEST_KINDS, type RequestKind } from './types.js';

const DAY = 86_400;
/** Seconds: an hour, a day, then days up to past the 30-day clock (§6) and its extension. */
const FULFIL_BUCKETS = [3600, DAY, 3 * DAY, 7 * DAY, 14 * DAY, 21 * DAY, 30 * DAY, 45 * DAY, 60 * DAY, 90 * DAY];

/** Open (open or in progress) and overdue (past the due date, extended or not) requests by kind. */
export async function openRequestCounts(
  db: Database,
  now: Date,
): Promise<Record<RequestKind, { open: number; overdue: number }>> {
  const rows = await db
    .select({
      kind: requests.kind,
      open: sql<number>`count(*)::int`,
      overdue: sql<number>`(count(*) filter (where coalesce(${requests.extendedDueAt}, ${requests.dueAt}) <= ${now.toISOString()}::timestamptz))::int`,
    })
    .from(requests)
    .where(sql`${requests.status} in ('open', 'in_progress')`)
    .groupBy(requests.kind);
  const out = Object.fromEntries(ALL_REQUEST_KINDS.map((k) => [k, { open: 0, overdue: 0 }])) as Record<
    RequestKind,
    { open: number; overdue: number }
  >;
  for (const r of rows) if (out[r.kind]) out[r.kind] = { open: Number(r.open), overdue: Number(r.overdue) };
  return out;
}

export function dataRightsMetrics(fastify: FastifyInstance, db: Database, now: () => number) {
  const m = metrics(fastify);
  const counts = cachedFor(SCRAPE_CACHE_MS, () => openRequestCounts(db, new Date(now())));
  const byKind = (field: 'open' | 'overdue') => async (g: { set(value: number, labels: { kind: string }): void }) => {
    for (const [kind, c] of Object.entries(await counts())) g.set(c[field], { kind });
  };
  m.gauge({
    name: 'harakaflow_data_rights_requests_open',
    help: 'Rights requests (§6) open or in progress, by kind',
    labelNames: ['kind'],
    collect: byKind('open'),
  });
  m.gauge({
    name: 'harakaflow_data_rights_requests_overdue',
    help: 'Rights requests open or in progress past their due date (30 days, or as extended), by kind',
    labelNames: ['kind'],
    collect: byKind('overdue'),
  });
  const fulfil = m.histogram({
    name: 'harakaflow_data_rights_time_to_fulfil_seconds',
    help: 'Time from receipt to fulfilment of rights requests fulfilled by this replica, by kind',
    labelNames: ['kind'],
    buckets: FULFIL_BUCKETS,
  });
  return { fulfilled: (kind: RequestKind, ms: number) => fulfil.observe(ms / 1000, { kind }) };
}
