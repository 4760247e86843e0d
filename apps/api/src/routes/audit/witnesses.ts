import { securityEvent } from '@harakaflow/core';
import type { FastifyRequest } from 'fastify';
import { WITNESS_EVENT, WITNESS_OWNER, witnessData } from '../../audit/witnesses.js';
import { EndpointNotFound } from '../../http/errors.js';
import { NO_CONTENT } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';
import { endpointSchema, endpointView, idParams } from '../webhooks/webhooks.js';

/**
 * Witnesses of the audit log (issue 33 item 3), the admin's: each is a webhook endpoint of its own
 * owner (never an account's) subscribed to `audit.checkpoint`, so the log's signed heads reach it
 * through the outbox, signed, retried, in the delivery log. The whsec_ secret is in the answer to
 * the registration only.
 */
const auditWitnessRoutes: Routes = async (app) => {
  const audit = (request: FastifyRequest, action: string, id: string) =>
    securityEvent(app, request, { action, resource: `audit-witness:${id}`, outcome: 'success', durability: 'sync' });

  app.post(
    '/v1/audit/witnesses',
    {
      config: {
        auth: 'admin',
        ageGate: false,
        errors: { 400: ['HF_WEBHOOK_INVALID_ENDPOINT', 'HF_WEBHOOK_DESTINATION_REFUSED'] },
      },
      schema: {
        tags: ['admin'],
        summary:
          'Register a witness of the audit log: it receives each signed tree head (audit.checkpoint, at most one a minute) as a signed webhook; the whsec_ secret is in this answer only',
        description:
          'The delivery is `{ type: "audit.checkpoint", timestamp, data: { treeSize, rootHash, checkpoint } }` with Standard Webhooks headers. A witness keeps the checkpoints it receives (a file each); `hf-audit verify --public-key KEYS --witness FILE` refuses a log that no longer extends one of them.',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: { url: { type: 'string', minLength: 8, maxLength: 2048 } },
        },
        response: { 201: { type: 'object', properties: { witness: endpointSchema, secret: { type: 'string' } } } },
      } as const,
    },
    async (request, reply) => {
      const { endpoint, secret } = await app.webhooks.create(WITNESS_OWNER, {
        url: request.body.url,
        events: [WITNESS_EVENT],
      });
      await audit(request, 'audit.witness.created', endpoint.id);
      // The head as it is now, so the witness starts with one (the next are sent as they are signed).
      const head = await app.audit.tree.head();
      if (head?.note) await app.webhooks.emit(WITNESS_OWNER, WITNESS_EVENT, witnessData(head.note));
      return reply.code(201).send({ witness: endpointView(endpoint), secret });
    },
  );

  app.get(
    '/v1/audit/witnesses',
    {
      config: { auth: 'admin', ageGate: false },
      schema: {
        tags: ['admin'],
        summary: "The audit log's witnesses (never their secrets)",
        security: [{ bearer: [] }],
        response: { 200: { type: 'object', properties: { witnesses: { type: 'array', items: endpointSchema } } } },
      },
    },
    async () => ({ witnesses: (await app.webhooks.list(WITNESS_OWNER)).map(endpointView) }),
  );

  app.delete(
    '/v1/audit/witnesses/:id',
    {
      config: { auth: 'admin', ageGate: false, errors: { 404: ['HF_WEBHOOK_ENDPOINT_NOT_FOUND'] } },
      schema: {
        tags: ['admin'],
        summary: 'Remove a witness (its pending deliveries are cancelled)',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 204: NO_CONTENT },
      } as const,
    },
    async (request, reply) => {
      if (!(await app.webhooks.remove(WITNESS_OWNER, request.params.id))) throw new EndpointNotFound();
      await audit(request, 'audit.witness.deleted', request.params.id);
      return reply.code(204).send();
    },
  );
};

export default auditWitnessRoutes;
