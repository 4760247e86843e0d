/**
 * The one shape every read of the log returns (`AuditEvent`): the columns, and the joins of format 3's interned values.
 */
import type { Database } from '@harakaflow/db';
import { eq, sql, type AnyColumn } from 'drizzle-orm';
import type { events, heldEvents as heldTable } from './schema.js';
import { routes, userAgents, writers } from './schema.js';

export type EventTable = typeof events | typeof heldTable;

/** The columns of an event as `AuditEvent`, any format (the tables it joins: see `from`). */
function selection(t: EventTable) {
  const viaRoute = (own: AnyColumn, interned: AnyColumn) =>
    sql<string | null>`case when ${t.routeId} is null then ${own} else nullif(${interned}, '') end`;
  return {
    id: t.id,
    occurredAt: t.occurredAt,
    writer: sql<string>`coalesce(${t.writer}, ${writers.name})`,
    day: t.day,
    seq: t.seq,
    kind: sql<string>`coalesce(${t.kind}, 'access')`,
    action: sql<string>`coalesce(${t.action}, 'http.request')`,
    resource: t.resource,
    outcome: t.outcome,
    requestId: t.requestId,
    method: viaRoute(t.method, routes.method),
    route: viaRoute(t.route, routes.route),
    path: t.path,
    status: t.status,
    durationMs: t.durationMs,
    subjectId: t.subjectId,
    ip: t.ip,
    ipInvalid: t.ipInvalid,
    userAgent: sql<string | null>`coalesce(${t.userAgent}, ${userAgents.userAgent})`,
    browserName: sql<string | null>`coalesce(${t.browserName}, ${userAgents.browserName})`,
    browserVersion: sql<string | null>`coalesce(${t.browserVersion}, ${userAgents.browserVersion})`,
    osName: sql<string | null>`coalesce(${t.osName}, ${userAgents.osName})`,
    osVersion: sql<string | null>`coalesce(${t.osVersion}, ${userAgents.osVersion})`,
    deviceType: sql<string | null>`coalesce(${t.deviceType}, ${userAgents.deviceType})`,
    details: t.details,
    personalSalt: sql<string | null>`coalesce(${t.personalSalt}, encode(${t.personalSaltBytes}, 'hex'))`,
    personalDigest: sql<string>`coalesce(${t.personalDigest}, encode(${t.personalDigestBytes}, 'hex'), '')`,
    prevHash: sql<string>`coalesce(${t.prevHash}, encode(${t.prevHashBytes}, 'hex'), '')`,
    hash: sql<string>`coalesce(${t.hash}, encode(${t.hashBytes}, 'hex'))`,
    erasedAt: t.erasedAt,
    chainVersion: t.chainVersion,
    erasedBy: t.erasedBy,
  };
}

/** `select <every column as AuditEvent> from <t> left join <its interned values>`. */
export function selectEvents(db: Database, t: EventTable) {
  return db
    .select(selection(t))
    .from(t as typeof events)
    .leftJoin(writers, eq(writers.id, t.writerId))
    .leftJoin(routes, eq(routes.id, t.routeId))
    .leftJoin(userAgents, eq(userAgents.id, t.userAgentId));
}
