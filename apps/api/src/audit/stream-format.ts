/**
 * Audit events as a SIEM reads them (issue 33 item 5): one JSON object per line, in OCSF 1.3.0
 * (API Activity 6003 for requests and most security events, Account Change 3001 for account, key,
 * credential and consent actions) or in the Elastic Common Schema. Pure functions: an event in, a
 * line out; what the event no longer holds (an erased subject, IP, user agent, path, resource or
 * details) is simply not in the line, never filled in from elsewhere.
 *
 * OCSF: https://schema.ocsf.io/1.3.0/classes/api_activity, /classes/account_change.
 * ECS: https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html.
 */
import type { AuditEvent } from '@harakaflow/audit';
import { isIP } from 'node:net';

export const STREAM_FORMATS = ['ocsf', 'ecs'] as const;
export type StreamFormat = (typeof STREAM_FORMATS)[number];

export const OCSF_VERSION = '1.3.0';
export const ECS_VERSION = '8.11.0';
const PRODUCT = { name: 'HarakaFlow Privacy Kit', vendor_name: 'HarakaFlow' } as const;
/** The type of a deletion record's line, in both formats. */
export const DELETION_TYPE = 'harakaflow.audit.deleted';

/** The event's fields a line may carry: what a stream reads (an `AuditEvent` has more). */
export type StreamEvent = Pick<
  AuditEvent,
  | 'id'
  | 'occurredAt'
  | 'kind'
  | 'action'
  | 'resource'
  | 'outcome'
  | 'requestId'
  | 'method'
  | 'route'
  | 'path'
  | 'status'
  | 'durationMs'
  | 'subjectId'
  | 'ip'
  | 'userAgent'
  | 'details'
  | 'erasedAt'
>;

/** Account Change (3001): actions on the account itself, its keys, its credentials and its consent. */
const ACCOUNT_CHANGE_PREFIXES = ['account.', 'api_key.', 'vault.', 'consent.'];

/** A value taken as it is (an event's `details`: never walked, its nulls and keys kept). */
const RAW = Symbol('raw');
const raw = (value: unknown) => (value === null || value === undefined ? null : { [RAW]: value });

/** Drops null and undefined members, and objects left empty (an erased field leaves no key behind). */
function compact(value: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object' && RAW in v) out[k] = (v as { [RAW]: unknown })[RAW];
    else if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) {
      const inner = compact(v as Record<string, unknown>);
      if (inner) out[k] = inner;
    } else out[k] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

const verb = (action: string) => action.slice(action.lastIndexOf('.') + 1);

/** API Activity's activity by HTTP method. */
export function apiActivity(method: string | null): { id: number; name: string } {
  switch ((method ?? '').toUpperCase()) {
    case 'POST':
      return { id: 1, name: 'Create' };
    case 'GET':
      return { id: 2, name: 'Read' };
    case 'PUT':
    case 'PATCH':
      return { id: 3, name: 'Update' };
    case 'DELETE':
      return { id: 4, name: 'Delete' };
    default:
      return { id: 99, name: 'Other' };
  }
}

/** API Activity's activity for a security action, by its last word. */
function securityApiActivity(action: string): { id: number; name: string } {
  const v = verb(action);
  if (/^(created|granted|placed|applied|issued|added|registered|received)$/.test(v)) return { id: 1, name: 'Create' };
  if (/^(read|exported|viewed|listed)$/.test(v)) return { id: 2, name: 'Read' };
  if (/^(updated|changed|rotated|recovered|enabled|disabled|resent|released|lifted)$/.test(v))
    return { id: 3, name: 'Update' };
  if (/^(deleted|revoked|erased|withdrawn|purged|removed)$/.test(v)) return { id: 4, name: 'Delete' };
  return { id: 99, name: 'Other' };
}

/** Account Change's activity for an action, by its last word. */
function accountActivity(action: string): { id: number; name: string } {
  const v = verb(action);
  if (/^(created|granted|written|put)$/.test(v)) return { id: 1, name: 'Create' };
  if (v === 'enabled') return { id: 2, name: 'Enable' };
  if (v === 'disabled') return { id: 5, name: 'Disable' };
  if (/^(deleted|revoked|erased|withdrawn|shredded)$/.test(v)) return { id: 6, name: 'Delete' };
  return { id: 99, name: 'Other' };
}

export const isAccountChange = (e: Pick<StreamEvent, 'kind' | 'action'>) =>
  e.kind === 'security' && ACCOUNT_CHANGE_PREFIXES.some((p) => e.action.startsWith(p));

/** success, failure or unknown: a security event's outcome, an access event's status (< 400 succeeded). */
export function outcomeOf(e: Pick<StreamEvent, 'kind' | 'outcome' | 'status'>): 'success' | 'failure' | 'unknown' {
  if (e.kind === 'access') return typeof e.status === 'number' ? (e.status < 400 ? 'success' : 'failure') : 'unknown';
  if (e.outcome === 'success') return 'success';
  if (e.outcome === 'failure' || e.outcome === 'denied') return 'failure';
  return 'unknown';
}

const OCSF_STATUS = {
  success: { id: 1, name: 'Success' },
  failure: { id: 2, name: 'Failure' },
  unknown: { id: 0, name: 'Unknown' },
} as const;

/** The IP as an address, or (a keyed hash in `keyed-hash` mode) as an opaque id. */
const address = (ip: string | null) =>
  ip === null ? { ip: null, other: null } : isIP(ip) ? { ip, other: null } : { ip: null, other: ip };

/** One event as an OCSF object. */
export function toOcsf(e: StreamEvent): Record<string, unknown> {
  const account = isAccountChange(e);
  const cls = account
    ? { uid: 3001, name: 'Account Change', category: 3, categoryName: 'Identity & Access Management' }
    : { uid: 6003, name: 'API Activity', category: 6, categoryName: 'Application Activity' };
  const activity = account
    ? accountActivity(e.action)
    : e.kind === 'access'
      ? apiActivity(e.method)
      : securityApiActivity(e.action);
  const status = OCSF_STATUS[outcomeOf(e)];
  const { ip, other } = address(e.ip);
  const user = e.subjectId === null ? null : { uid: e.subjectId };
  return compact({
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category,
    category_name: cls.categoryName,
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: cls.uid * 100 + activity.id,
    time: e.occurredAt.getTime(),
    severity_id: 1,
    severity: 'Informational',
    status_id: status.id,
    status: status.name,
    status_detail: e.kind === 'security' ? e.outcome : null,
    duration: typeof e.durationMs === 'number' ? Math.round(e.durationMs) : null,
    metadata: { version: OCSF_VERSION, uid: e.id, product: PRODUCT, log_name: 'audit', correlation_uid: e.requestId },
    api: {
      operation: e.kind === 'access' ? (e.method && e.route ? `${e.method} ${e.route}` : e.method) : e.action,
      request: { uid: e.requestId },
    },
    http_request: { http_method: e.method, url: { path: e.path }, user_agent: e.userAgent },
    http_response: { code: e.status },
    src_endpoint: { ip, uid: other },
    actor: { user },
    // Account Change names the account changed: the event's subject.
    user: account ? user : null,
    unmapped: {
      action: e.action,
      kind: e.kind,
      route: e.route,
      resource: e.resource,
      details: raw(e.details),
      erased_at: e.erasedAt?.toISOString() ?? null,
    },
  })!;
}

/** One event as an ECS object. */
export function toEcs(e: StreamEvent): Record<string, unknown> {
  const account = isAccountChange(e);
  const { ip, other } = address(e.ip);
  const type = e.kind === 'access' ? ['access'] : account ? [ecsType(e.action)] : ['info'];
  return compact({
    '@timestamp': e.occurredAt.toISOString(),
    ecs: { version: ECS_VERSION },
    event: {
      id: e.id,
      action: e.action,
      kind: 'event',
      category: [account ? 'iam' : 'web'],
      type,
      outcome: outcomeOf(e),
      dataset: 'harakaflow.audit',
      // ECS durations are nanoseconds.
      duration: typeof e.durationMs === 'number' ? Math.round(e.durationMs * 1_000_000) : null,
    },
    http: { request: { method: e.method, id: e.requestId }, response: { status_code: e.status } },
    url: { path: e.path },
    source: { ip, address: other },
    user_agent: { original: e.userAgent },
    user: { id: e.subjectId },
    harakaflow: {
      audit: {
        kind: e.kind,
        route: e.route,
        resource: e.resource,
        outcome: e.outcome,
        details: raw(e.details),
        erased_at: e.erasedAt?.toISOString() ?? null,
      },
    },
  })!;
}

function ecsType(action: string): string {
  const v = accountActivity(action).name;
  return v === 'Create' ? 'creation' : v === 'Delete' ? 'deletion' : 'change';
}

/** An erasure told to a stream: the ids of events it delivered whose personal fields are now erased. */
export interface DeletionRecord {
  erasureId: string;
  ids: readonly string[];
  /** When the erasure was recorded. */
  at: Date;
}

/** A deletion record as a line's object, in the stream's format. */
export function deletionObject(d: DeletionRecord, format: StreamFormat): Record<string, unknown> {
  const common = { type: DELETION_TYPE, erasureId: d.erasureId, ids: [...d.ids] };
  return format === 'ocsf'
    ? { ...common, time: d.at.getTime(), metadata: { version: OCSF_VERSION, product: PRODUCT } }
    : {
        ...common,
        '@timestamp': d.at.toISOString(),
        ecs: { version: ECS_VERSION },
        event: { kind: 'event', action: DELETION_TYPE, dataset: 'harakaflow.audit' },
      };
}

/** The event's line (JSON: no raw line break inside, whatever the strings hold). */
export const eventLine = (e: StreamEvent, format: StreamFormat): string =>
  JSON.stringify(format === 'ocsf' ? toOcsf(e) : toEcs(e));

/** A POST's body: deletion records first, then events, each line ending with "\n". */
export function ndjson(
  format: StreamFormat,
  deletions: readonly DeletionRecord[],
  events: readonly StreamEvent[],
): string {
  let body = '';
  for (const d of deletions) body += `${JSON.stringify(deletionObject(d, format))}\n`;
  for (const e of events) body += `${eventLine(e, format)}\n`;
  return body;
}
