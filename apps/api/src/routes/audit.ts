import { AuditInvalidQuery, type AuditEvent } from '@harakaflow/audit';
import { AuthForbidden } from '../errors.js';
import type { Routes } from '../schema-types.js';


const nullableString = { type: ['string', 'null'] } as const;
const eventSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    occurredAt: { type: 'string' },
    kind: { type: 'string' },
    action: { type: 'string' },
    resource: nullableString,
    outcome: nullableString,
    requestId: nullableString,
    method: nullableString,
    route: nullableString,
    path: nullableString,
    status: { type: ['integer', 'null'] },
    durationMs: { type: ['number', 'null'] },
    subjectId: nullableString,
    ip: nullableString,
    ipInvalid: { type: 'boolean' },
    userAgent: nullableString,
    browserName: nullableString,
    browserVersion: nullableString,
    osName: nullableString,
    osVersion: nullableString,
    deviceType: nullableString,
    details: {},
    erasedAt: nullableString,
    writer: { type: 'string' },
    seq: { type: 'integer' },
    hash: { type: 'string' },
  },
} as const;

const view = (e: AuditEvent) => ({ ...e, occurredAt: e.occurredAt.toISOString(), erasedAt: e.erasedAt?.toISOString() ?? null });

/**
 * Security actions an account's own trail leaves out: the operator's records about it, not its own
 * doings. A legal hold (its reason, its term) is the operator's to disclose: the erasure receipt
 * says what a hold kept; the trail does not announce a hold while it stands.
 */
export const OPERATOR_ONLY_ACTIONS: readonly string[] = ['retention.hold.placed', 'retention.hold.released'];

/**
 * The audit log (policy §1, §3). The admin principal (authorized personnel) reads every event; an
 * account (its API key) reads its own trail (issue 33 item 4): the events whose subject is the
 * account (its requests, credential reads, consent changes, privacy-centre sign-ins, rights
 * requests, bans...), less OPERATOR_ONLY_ACTIONS. An account cannot widen the filter: a
 * `subjectId` other than its own is refused (403 HF_AUTH_FORBIDDEN). Erased events lose their
 * subject, so they leave the account's trail for good. Every read is itself audited, committed
 * before the answer (sync), without the filter values; an account's read is an event of its own
 * trail.
 */
const auditRoutes: Routes = async (app) => {
  app.get(
    '/v1/audit/events',
    {
      config: { auth: 'any', ageGate: false, errors: { 400: ['HF_AUDIT_INVALID_QUERY'] } },
      schema: {
        tags: ['admin', 'accounts'],
        summary: "Audit events, newest first: every event for the admin, an account's own events for its key (the read is audited)",
        description:
          "The admin principal reads every event and may filter by `subjectId`. An account's API key reads the events about that account only (its requests, credential reads, consent changes, privacy-centre sign-ins, rights requests, bans, its own reads of this list), without the operator's legal-hold records; a `subjectId` other than the account's own is refused with 403 HF_AUTH_FORBIDDEN. Events of an erased subject are no longer the account's (their subject is erased with them).",
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            subjectId: { type: 'string', minLength: 1, maxLength: 200 },
            action: { type: 'string', pattern: '^[a-z][a-z0-9_.-]{0,99}$' },
            // Within 1970 to 9999: ids are UUIDv7, whose time starts at the epoch (issue 13 item 4).
            from: { type: 'string', format: 'date-time', pattern: '^(19[7-9][0-9]|[2-9][0-9]{3})-' },
            to: { type: 'string', format: 'date-time', pattern: '^(19[7-9][0-9]|[2-9][0-9]{3})-' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            cursor: { type: 'string', maxLength: 100 },
          },
        },
        response: {
          200: { type: 'object', properties: { events: { type: 'array', items: eventSchema }, nextCursor: nullableString } },
        },
      } as const,
    },
    async (request) => {
      const q = request.query;
      // An account's key: its own trail only, never widened (the session cookie does not reach this route).
      const own = request.principal?.kind === 'account' ? request.principal.id : null;
      if (own !== null && q.subjectId !== undefined && q.subjectId !== own) throw new AuthForbidden();
      const subjectId = own ?? q.subjectId;
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from > to) throw new AuditInvalidQuery('"from" is after "to"');
      await request.audit.record({
        action: 'audit.events.read',
        resource: 'audit.events',
        outcome: 'success',
        details: { scope: own === null ? 'all' : 'own', bySubject: q.subjectId !== undefined, action: q.action ?? null, from: q.from ?? null, to: q.to ?? null, page: q.cursor ? 'next' : 'first' },
        durability: 'sync',
      });
      const page = await app.audit.query({ subjectId, action: q.action, from, to, limit: q.limit, cursor: q.cursor, ...(own === null ? {} : { exceptActions: OPERATOR_ONLY_ACTIONS }) });
      return { events: page.events.map(view), nextCursor: page.nextCursor };
    },
  );
};

export default auditRoutes;
