import { AuditInvalidQuery, type AuditEvent } from '@harakaflow/audit';
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
 * The audit log for authorized personnel only (policy §3): the admin principal. Every read is
 * itself audited, committed before the answer (sync), without the filter values.
 */
const auditRoutes: Routes = async (app) => {
  app.get(
    '/v1/audit/events',
    {
      config: { auth: 'admin', ageGate: false, errors: { 400: ['HF_AUDIT_INVALID_QUERY'] } },
      schema: {
        tags: ['admin'],
        summary: 'Audit events, newest first (admin only; the read is audited)',
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
      const from = q.from ? new Date(q.from) : undefined;
      const to = q.to ? new Date(q.to) : undefined;
      if (from && to && from > to) throw new AuditInvalidQuery('"from" is after "to"');
      await request.audit.record({
        action: 'audit.events.read',
        resource: 'audit.events',
        outcome: 'success',
        details: { bySubject: q.subjectId !== undefined, action: q.action ?? null, from: q.from ?? null, to: q.to ?? null, page: q.cursor ? 'next' : 'first' },
        durability: 'sync',
      });
      const page = await app.audit.query({ subjectId: q.subjectId, action: q.action, from, to, limit: q.limit, cursor: q.cursor });
      return { events: page.events.map(view), nextCursor: page.nextCursor };
    },
  );
};

export default auditRoutes;
