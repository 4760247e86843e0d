import type { FastifyRequest } from 'fastify';
import { STREAM_FORMATS } from '../../audit/stream-format.js';
import { MAX_STREAMS, streamView, type StreamOwner } from '../../audit/streams.js';
import { AuditStreamNotFound } from '../../http/errors.js';
import { NO_CONTENT } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';

const nullableString = { type: ['string', 'null'] } as const;
const streamSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    accountId: nullableString,
    scope: {
      type: 'string',
      enum: ['own', 'all'],
      description: "own: the account's trail; all: every event (the admin's)",
    },
    url: { type: 'string', description: 'the destination, its query string shown as ?…' },
    format: { type: 'string', enum: [...STREAM_FORMATS] },
    status: {
      type: 'string',
      enum: ['active', 'failing', 'ending'],
      description:
        'failing: the last attempt failed (retried with backoff); ending: its account was erased (deletion records only, then it goes)',
    },
    cursor: {
      type: 'string',
      description: 'the id of the last event delivered (or the floor the stream started from)',
    },
    delivered: { type: 'integer' },
    lastDeliveryAt: nullableString,
    lastAttemptAt: nullableString,
    lastErrorStatus: { type: ['integer', 'null'] },
    lastErrorCode: nullableString,
    failingSince: nullableString,
    failures: { type: 'integer', description: 'attempts failed in a row' },
    nextAttemptAt: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;

const ownerOf = (request: FastifyRequest): StreamOwner =>
  request.principal?.kind === 'account' ? { kind: 'account', id: request.principal.id } : { kind: 'admin' };

/**
 * Audit streams (issue 33 item 5): an account's trail (what `GET /v1/audit/events` answers its
 * key), or every event for the admin, sent to the account's SIEM as JSON lines (audit-streams.ts).
 * Another account's stream is "not found"; the admin lists and deletes every stream.
 */
const auditStreamRoutes: Routes = async (app) => {
  app.post(
    '/v1/audit/streams',
    {
      config: {
        auth: 'any',
        ageGate: false,
        errors: {
          400: ['HF_AUDIT_STREAM_INVALID_URL', 'HF_AUDIT_STREAM_INVALID_FROM'],
          409: ['HF_AUDIT_STREAM_LIMIT'],
        },
      },
      schema: {
        tags: ['admin', 'accounts'],
        summary:
          'Register a stream of audit events to an HTTPS destination; its whsec_ signing secret is in this answer only',
        description: `An account's stream carries the events \`GET /v1/audit/events\` answers its key; the admin's, every event. JSON lines (application/x-ndjson) in OCSF 1.3.0 or ECS, signed with Standard Webhooks headers, at least once, from \`from\` (a time in the past) or from now. At most ${MAX_STREAMS} streams an account (and for the admin).`,
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['url', 'format'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', minLength: 8, maxLength: 2048 },
            format: { type: 'string', enum: [...STREAM_FORMATS] },
            // Within 1970 to 9999, as GET /v1/audit/events' `from`: ids are UUIDv7.
            from: { type: 'string', format: 'date-time', pattern: '^(19[7-9][0-9]|[2-9][0-9]{3})-' },
          },
        },
        response: { 201: { type: 'object', properties: { stream: streamSchema, secret: { type: 'string' } } } },
      } as const,
    },
    async (request, reply) => {
      const { url, format, from } = request.body;
      const { stream, secret } = await app.auditStreams.create(
        ownerOf(request),
        { url, format, from: from ? new Date(from) : undefined },
        request,
      );
      return reply.code(201).send({ stream: streamView(stream), secret });
    },
  );

  app.get(
    '/v1/audit/streams',
    {
      config: { auth: 'any', ageGate: false },
      schema: {
        tags: ['admin', 'accounts'],
        summary:
          "The account's audit streams (the admin: every stream) with their delivery status, never their secrets",
        security: [{ bearer: [] }],
        response: { 200: { type: 'object', properties: { streams: { type: 'array', items: streamSchema } } } },
      },
    },
    async (request) => ({ streams: (await app.auditStreams.list(ownerOf(request))).map(streamView) }),
  );

  app.delete(
    '/v1/audit/streams/:id',
    {
      config: { auth: 'any', ageGate: false, errors: { 404: ['HF_AUDIT_STREAM_NOT_FOUND'] } },
      schema: {
        tags: ['admin', 'accounts'],
        summary: 'Delete an audit stream and its secret; nothing more is sent to it',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 204: NO_CONTENT },
      } as const,
    },
    async (request, reply) => {
      if (!(await app.auditStreams.remove(ownerOf(request), request.params.id, request)))
        throw new AuditStreamNotFound();
      return reply.code(204).send();
    },
  );
};

export default auditStreamRoutes;
