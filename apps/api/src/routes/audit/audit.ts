import { AuditInvalidQuery, type AuditEvent } from '@harakaflow/audit';
import { AuditEventNotFound, AuditProofPending, AuditSigningDisabled, AuthForbidden } from '../../http/errors.js';
import type { Routes } from '../../http/schema-types.js';

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

const view = (e: AuditEvent) => ({
  ...e,
  occurredAt: e.occurredAt.toISOString(),
  erasedAt: e.erasedAt?.toISOString() ?? null,
});

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
        summary:
          "Audit events, newest first: every event for the admin, an account's own events for its key (the read is audited)",
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
          200: {
            type: 'object',
            properties: { events: { type: 'array', items: eventSchema }, nextCursor: nullableString },
          },
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
        details: {
          scope: own === null ? 'all' : 'own',
          bySubject: q.subjectId !== undefined,
          action: q.action ?? null,
          from: q.from ?? null,
          to: q.to ?? null,
          page: q.cursor ? 'next' : 'first',
        },
        durability: 'sync',
      });
      const page = await app.audit.query({
        subjectId,
        action: q.action,
        from,
        to,
        limit: q.limit,
        cursor: q.cursor,
        ...(own === null ? {} : { exceptActions: OPERATOR_ONLY_ACTIONS }),
      });
      return { events: page.events.map(view), nextCursor: page.nextCursor };
    },
  );

  // Issue 33: the Merkle tree's latest signed head, to anyone (C2SP checkpoint, text/plain), and an
  // event's inclusion proof in it for the admin or the account the event is about.
  app.get(
    '/v1/audit/checkpoint',
    {
      config: { auth: 'public', ageGate: false, errors: { 404: ['HF_AUDIT_SIGNING_DISABLED'] } },
      schema: {
        tags: ['admin', 'accounts'],
        summary:
          "The audit log's latest signed tree head: a C2SP checkpoint (signed note), checkable with /.well-known/harakaflow-audit-keys.txt",
        description:
          'origin, tree size and base64 root hash (RFC 6962), `horizon YYYY-MM-DD` when retention has dropped days (the days before it may be missing from the events), a blank line, then one Ed25519 signature line per key. Give it to witnesses; `hf-audit verify --witness FILE` checks that the log still extends it. 404 HF_AUDIT_SIGNING_DISABLED when AUDIT_SIGNING_KEYS is unset.',
        response: {
          200: {
            description: 'The signed note (C2SP tlog-checkpoint)',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      if (!app.audit.tree.signer) throw new AuditSigningDisabled();
      let head = await app.audit.tree.head();
      // No signed head yet (a new log, before the first run): make one now.
      if (!head?.note) {
        await app.audit.tree.integrate();
        head = await app.audit.tree.head();
      }
      if (!head?.note) throw new AuditSigningDisabled();
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(head.note);
    },
  );

  app.get(
    '/v1/audit/events/:id/proof',
    {
      config: {
        auth: 'any',
        ageGate: false,
        errors: { 404: ['HF_AUDIT_EVENT_NOT_FOUND'], 409: ['HF_AUDIT_PROOF_PENDING'] },
      },
      schema: {
        tags: ['admin', 'accounts'],
        summary:
          "An audit event's inclusion proof (RFC 6962) in the latest signed tree head: for the admin, or the account the event is about",
        description:
          "The leaf is SHA-256(0x00 || the event's 32-byte chain hash); the chain hash covers the salted digest of the personal fields, not the fields, so a proof keeps verifying after the subject is erased. `proof` is the audit path, deepest sibling first; `checkpoint` the signed note of `treeSize` and `rootHash` (null when heads are not signed). Another account's event, or one erased from the account's trail, is 404. An event newer than the latest head is 409 HF_AUDIT_PROOF_PENDING (heads are signed every 10 s).",
        security: [{ bearer: [] }],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              hash: { type: 'string' },
              leafIndex: { type: 'integer' },
              treeSize: { type: 'integer' },
              leafHash: { type: 'string' },
              rootHash: { type: 'string' },
              proof: { type: 'array', items: { type: 'string' } },
              checkpoint: nullableString,
            },
          },
        },
      } as const,
    },
    async (request, reply) => {
      const own = request.principal?.kind === 'account' ? request.principal.id : null;
      const only = own === null ? undefined : { subjectId: own };
      let found = await app.audit.tree.prove(request.params.id, only);
      // Not another account's, nor one whose subject was erased: the same answer as no event at all.
      if (found.state === 'missing' || (own !== null && found.subjectId !== own)) throw new AuditEventNotFound();
      if (found.state === 'pending') {
        await app.audit.tree.integrate();
        found = await app.audit.tree.prove(request.params.id, only);
      }
      if (found.state !== 'found') {
        reply.header('retry-after', '10');
        throw new AuditProofPending();
      }
      return found.proof;
    },
  );
};

export default auditRoutes;
