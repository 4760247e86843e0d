/**
 * The rows of a batch (writes.ts): formats 1 and 2 as text arrays, format 3 with its interned ids, as UNNEST arrays.
 */
import { canonicalJson } from '@harakaflow/core';
import { sql, type SQL } from 'drizzle-orm';
import { erasableFields, type AuditEvent } from './event.js';
import type { Event3 } from './format3.js';
import { routeKey, type Interned, type InternKeys, type LookedUp } from './intern.js';
import { pgArray } from './pg-array.js';
import { type ErasePlan } from './tombstones.js';

export interface Checkpoint {
  writer: string;
  day: string;
  count: number;
  lastHash: string;
  closed: boolean;
  mac: string;
}

// ---------------------------------------------------------------------------------------------
// Formats 1 and 2: every column, text arrays.

const str = (v: string | null) => v;
const num = (v: number | null) => (v === null ? null : String(v));
export const LEGACY_COLUMNS: [string, string, (e: AuditEvent) => string | null][] = [
  ['id', 'uuid', (e) => e.id],
  ['occurred_at', 'timestamptz', (e) => e.occurredAt.toISOString()],
  ['writer', 'text', (e) => e.writer],
  ['day', 'date', (e) => e.day],
  ['seq', 'int4', (e) => String(e.seq)],
  ['kind', 'text', (e) => e.kind],
  ['action', 'text', (e) => e.action],
  ['resource', 'text', (e) => str(e.resource)],
  ['outcome', 'text', (e) => str(e.outcome)],
  ['request_id', 'text', (e) => str(e.requestId)],
  ['method', 'text', (e) => str(e.method)],
  ['route', 'text', (e) => str(e.route)],
  ['path', 'text', (e) => str(e.path)],
  ['status', 'int2', (e) => num(e.status)],
  ['duration_ms', 'float8', (e) => num(e.durationMs)],
  ['subject_id', 'text', (e) => str(e.subjectId)],
  ['ip', 'text', (e) => str(e.ip)],
  ['ip_invalid', 'bool', (e) => (e.ipInvalid ? 't' : 'f')],
  ['user_agent', 'text', (e) => str(e.userAgent)],
  ['browser_name', 'text', (e) => str(e.browserName)],
  ['browser_version', 'text', (e) => str(e.browserVersion)],
  ['os_name', 'text', (e) => str(e.osName)],
  ['os_version', 'text', (e) => str(e.osVersion)],
  ['device_type', 'text', (e) => str(e.deviceType)],
  ['details', 'jsonb', (e) => (e.details === null || e.details === undefined ? null : canonicalJson(e.details))],
  ['personal_salt', 'text', (e) => str(e.personalSalt)],
  ['personal_digest', 'text', (e) => e.personalDigest],
  ['prev_hash', 'text', (e) => e.prevHash],
  ['hash', 'text', (e) => e.hash],
  ['chain_version', 'int2', (e) => String(e.chainVersion)],
];
/** With the erasure columns: a batch some of whose events are inserted erased (tombstones.ts). */
export const LEGACY_ERASING: typeof LEGACY_COLUMNS = [
  ...LEGACY_COLUMNS,
  ['erased_at', 'timestamptz', (e) => (e.erasedAt ? e.erasedAt.toISOString() : null)],
  ['erased_by', 'text', (e) => e.erasedBy],
];
const listOf = (columns: readonly [string, ...unknown[]][]) => sql.raw(columns.map(([name]) => `"${name}"`).join(', '));
export const LEGACY_LIST = listOf(LEGACY_COLUMNS);
export const LEGACY_ERASING_LIST = listOf(LEGACY_ERASING);

/**
 * A format-1 or 2 event as erasure leaves it in place (store.ts eraseEvents): the same fields nulled, the digest kept.
 */
export function erasedLegacy(e: AuditEvent, plan: ErasePlan): AuditEvent {
  const out: AuditEvent = { ...e, personalSalt: null, erasedAt: plan.at, erasedBy: plan.erasureId };
  for (const field of erasableFields(e.chainVersion)) (out as unknown as Record<string, unknown>)[field] = null;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Format 3: the lean row.

/** An access event's kind and action are implied by a NULL `kind` (readers coalesce them back). */
export const impliedAccess = (e: Event3) => e.input.kind === 'access' && e.input.action === 'http.request';

/** The interned ids of one format-3 row. */
interface Ids3 {
  userAgent: number | null;
  route: number | null;
  writer: number;
}

/** What of a batch of format-3 events is not interned yet (a batch of a known traffic: nothing). */
export function internKeys(rows: readonly Event3[], interned: Interned): InternKeys {
  const keys: InternKeys = { userAgents: new Set(), routes: new Set(), writers: new Set() };
  const today = Math.floor(Date.now() / DAY_MS);
  let lastWriter = '';
  let lastAgent = '';
  for (const e of rows) {
    const i = e.input;
    const ua = i.userAgent;
    if (ua && ua !== lastAgent) {
      lastAgent = ua;
      if (interned.userAgent(ua, today) === undefined) keys.userAgents.add(ua);
    }
    if ((i.method != null || i.route != null) && interned.routeId(i.method ?? null, i.route ?? null) === undefined)
      keys.routes.add(routeKey(i.method ?? null, i.route ?? null));
    if (e.writer !== lastWriter && interned.writer((lastWriter = e.writer)) === undefined) keys.writers.add(e.writer);
  }
  return keys;
}

/** The last user agent looked up in the LRU, and its id: consecutive events often share one. */
let lastAgent: string | null = null;
let lastAgentId: number | undefined;
let lastAgentCache: Interned | null = null;
/** Forgets the last user agent: ids are looked up afresh for each batch (a new day may have new ones). */
export function forgetLastAgent(): void {
  lastAgent = null;
}

/** A format-3 batch's interned values: the writer's caches, and what the batch itself looked up. */
export interface BatchIds {
  interned: Interned;
  found: LookedUp;
}

export function idsOf(e: Event3, ids: BatchIds, today: number): Ids3 {
  const { interned, found } = ids;
  const i = e.input;
  const ua = i.userAgent;
  let userAgent: number | null | undefined = null;
  if (ua) {
    if (ua === lastAgent && interned === lastAgentCache) userAgent = lastAgentId;
    else {
      userAgent = interned.userAgent(ua, today) ?? found.userAgents.get(ua);
      lastAgent = ua;
      lastAgentId = userAgent;
      lastAgentCache = interned;
    }
  }
  const hasRoute = i.method != null || i.route != null;
  const route = hasRoute
    ? (interned.routeId(i.method ?? null, i.route ?? null) ??
      found.routes.get(routeKey(i.method ?? null, i.route ?? null)))
    : null;
  const writer = interned.writer(e.writer) ?? found.writers.get(e.writer);
  if (userAgent === undefined || route === undefined || writer === undefined)
    throw new Error('audit: an interned value was not looked up');
  return { userAgent, route, writer };
}

export const V3_COLUMNS = [
  'id',
  'occurred_at',
  'day',
  'seq',
  'kind',
  'action',
  'resource',
  'outcome',
  'request_id',
  'method',
  'route',
  'path',
  'status',
  'duration_ms',
  'subject_id',
  'ip',
  'ip_invalid',
  'details',
  'chain_version',
  'hash_bytes',
  'personal_salt_bytes',
  'prev_hash_bytes',
  'user_agent_id',
  'route_id',
  'writer_id',
] as const;
export const V3_LIST = V3_COLUMNS.map((c) => `"${c}"`).join(', ');
/**
 * With the erasure columns: a batch some of whose events are inserted erased (the digest stored, as erasure stores it).
 */
export const V3_ERASING_LIST = `${V3_LIST}, "personal_digest_bytes", "erased_at", "erased_by"`;
export const V3_ERASING_COLUMNS = V3_COLUMNS.length + 3;

export const DAY_MS = 86_400_000;
export const unixDay = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;

/** References to user agents a batch adds, per (day, writer): user agent id -> events. */
export type Refs = Map<string, { day: string; writer: number; counts: Map<number, number> }>;

/** The references of a batch as rows (user agent, day, writer, events). */
export function refRows(refs: Refs): { userAgent: number; day: string; writer: number; events: number }[] {
  const rows: { userAgent: number; day: string; writer: number; events: number }[] = [];
  for (const { day, writer, counts } of refs.values())
    for (const [userAgent, events] of counts) rows.push({ userAgent, day, writer, events });
  return rows;
}

/**
 * The format-3 rows as UNNEST arrays (PGlite, or a batch that mixes formats); with `plan`, the erasure columns too (see
 * encodeCopy).
 */
export function v3Arrays(rows: readonly Event3[], interned: BatchIds, plan: ErasePlan | null = null): SQL[] {
  lastAgent = null;
  const today = Math.floor(Date.now() / DAY_MS);
  const ids = rows.map((e) => idsOf(e, interned, today));
  const gone = plan ? rows.map((e) => plan.erases(e.input.subjectId, e.occurredMs)) : null;
  /** A personal field: NULL in an event inserted erased. */
  const own = <T>(i: number, v: T): T | null => (gone !== null && gone[i] ? null : v);
  const col = (type: string, get: (e: Event3, i: number) => string | null | undefined) =>
    sql`${pgArray(
      rows.map((e, i) => [e, i] as const),
      ([e, i]) => get(e, i),
    )}::${sql.raw(type)}[]`;
  const arrays = [
    col('uuid', (e) => e.id),
    col('timestamptz', (e) => new Date(e.occurredMs).toISOString()),
    col('date', (e) => e.day),
    col('int4', (e) => String(e.seq)),
    col('text', (e) => (impliedAccess(e) ? null : e.input.kind)),
    col('text', (e) => (impliedAccess(e) ? null : e.input.action)),
    col('text', (e, i) => own(i, e.input.resource)),
    col('text', (e) => e.input.outcome),
    col('text', (e) => e.input.requestId),
    col('text', (e, i) => (ids[i]!.route !== null ? null : e.input.method)),
    col('text', (e, i) => (ids[i]!.route !== null ? null : e.input.route)),
    col('text', (e, i) => own(i, e.input.path)),
    col('int2', (e) => (e.input.status == null ? null : String(e.input.status))),
    col('float8', (e) => (e.input.durationMs == null ? null : String(e.input.durationMs))),
    col('text', (e, i) => own(i, e.input.subjectId)),
    col('text', (e, i) => own(i, e.input.ip)),
    col('bool', (e) => (e.input.ipInvalid ? 't' : 'f')),
    col('jsonb', (e, i) => own(i, e.detailsJson)),
    col('int2', () => '3'),
    col('bytea', (e) => `\\x${e.hash}`),
    col('bytea', (e, i) => own(i, `\\x${e.salt}`)),
    col('bytea', (e) => (e.seq === 0 ? `\\x${e.prev}` : null)),
    col('int4', (_, i) => own(i, num(ids[i]!.userAgent))),
    col('int4', (_, i) => num(ids[i]!.route)),
    col('int4', (_, i) => String(ids[i]!.writer)),
  ];
  if (plan) {
    const at = plan.at.toISOString();
    arrays.push(
      col('bytea', (e, i) => (gone![i] ? `\\x${e.digest}` : null)),
      col('timestamptz', (_, i) => (gone![i] ? at : null)),
      col('text', (_, i) => (gone![i] ? plan.erasureId : null)),
    );
  }
  return arrays;
}
