import { securityEvent } from '@harakaflow/core';
import type { DeliveryDetail } from '@harakaflow/webhooks';
import { DELIVERY_STATUSES } from '@harakaflow/webhooks/internals';
import type { FastifyRequest } from 'fastify';
import { DeliveryNotFound, EndpointNotFound } from '../../http/errors.js';
import type { Routes } from '../../http/schema-types.js';
import { endpointSchema, endpointView, idParams, WEBHOOK_EVENT_TYPES } from './webhooks.js';

/** Within 1970 to 9999, as the audit log's filters (a Date and Postgres both hold them). */
const dateTime = { type: 'string', format: 'date-time', pattern: '^(19[7-9][0-9]|[2-9][0-9]{3})-' } as const;
const nullableString = { type: ['string', 'null'] } as const;
const attemptSchema = {
  type: 'object',
  properties: {
    attemptedAt: { type: 'string' },
    statusCode: { type: ['integer', 'null'] },
    error: nullableString,
    durationMs: { type: 'integer' },
    response: { ...nullableString, description: 'at most 1 KiB of the answer, signatures and secrets removed' },
  },
} as const;
const deliveryProperties = {
  id: { type: 'string' },
  endpointId: { type: 'string' },
  webhookId: { type: 'string', description: 'the webhook-id header: the same on every attempt and resend' },
  event: { type: 'string' },
  status: { enum: [...DELIVERY_STATUSES] },
  createdAt: { type: 'string' },
  deliveredAt: nullableString,
  nextAttemptAt: nullableString,
  lastStatusCode: { type: ['integer', 'null'] },
  lastError: nullableString,
  attemptCount: { type: 'integer' },
  attempts: {
    type: 'array',
    items: attemptSchema,
    description: 'the latest attempts, oldest first (10 in a list, 100 for one delivery)',
  },
} as const;
const deliverySchema = { type: 'object', properties: deliveryProperties } as const;
const deliveryDetailSchema = {
  type: 'object',
  properties: {
    ...deliveryProperties,
    payload: { description: 'the event as signed and sent: { type, timestamp, data }' },
  },
} as const;

/**
 * Route limits per account (@harakaflow/quota), beside the plan's: sending again costs the
 * receivers, so it is metered on its own.
 */
export const DELIVERY_LIMITS = {
  resend: { name: 'webhooks.resend.minute', points: 60, duration: 60 },
  recover: { name: 'webhooks.recover.hour', points: 10, duration: 3600 },
  enable: { name: 'webhooks.enable.hour', points: 30, duration: 3600 },
} as const;

/**
 * The delivery log, resend and recover, and enabling a disabled endpoint (issue 34): account-owned
 * like the endpoints (another account's endpoint or delivery is not found, the admin is refused),
 * each state change limited and audited. The package's core does the work (WebhookService).
 */
const deliveryRoutes: Routes = async (app) => {
  const owner = (request: FastifyRequest) => request.account!.id;
  const audit = (request: FastifyRequest, action: string, resource: string, details: Record<string, unknown>) =>
    securityEvent(app, request, { action, resource, outcome: 'success', durability: 'sync', details });
  const detail = (d: DeliveryDetail) => ({ delivery: d });

  app.get(
    '/v1/webhooks/endpoints/:id/deliveries',
    {
      config: {
        auth: 'account',
        errors: { 400: ['HF_WEBHOOK_INVALID_QUERY'], 404: ['HF_WEBHOOK_ENDPOINT_NOT_FOUND'] },
      },
      schema: {
        tags: ['webhooks'],
        summary: "The endpoint's deliveries, newest first, with their attempts (keyset pagination: nextCursor)",
        security: [{ bearer: [] }],
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { enum: [...DELIVERY_STATUSES] },
            event: { enum: [...WEBHOOK_EVENT_TYPES] },
            from: { ...dateTime, description: 'created at or after' },
            to: { ...dateTime, description: 'created before' },
            cursor: { type: 'string', minLength: 1, maxLength: 120 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { deliveries: { type: 'array', items: deliverySchema }, nextCursor: nullableString },
          },
        },
      } as const,
    },
    async (request) => {
      const page = await app.webhooks.listDeliveries(owner(request), request.params.id, request.query);
      if (!page) throw new EndpointNotFound();
      return page;
    },
  );

  app.get(
    '/v1/webhooks/deliveries/:id',
    {
      config: { auth: 'account', errors: { 404: ['HF_WEBHOOK_DELIVERY_NOT_FOUND'] } },
      schema: {
        tags: ['webhooks'],
        summary: 'One delivery: its payload, status, next attempt and attempts',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 200: { type: 'object', properties: { delivery: deliveryDetailSchema } } },
      } as const,
    },
    async (request) => {
      const found = await app.webhooks.getDelivery(owner(request), request.params.id);
      if (!found) throw new DeliveryNotFound();
      return detail(found);
    },
  );

  app.post(
    '/v1/webhooks/deliveries/:id/resend',
    {
      config: {
        auth: 'account',
        quota: { limits: [DELIVERY_LIMITS.resend] },
        errors: { 404: ['HF_WEBHOOK_DELIVERY_NOT_FOUND'], 409: ['HF_WEBHOOK_DELIVERY_NOT_RESENDABLE'] },
      },
      schema: {
        tags: ['webhooks'],
        summary:
          'Send a delivered or failed delivery again: the same webhook-id, a fresh timestamp and signature (held while its endpoint is disabled)',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 202: { type: 'object', properties: { delivery: deliveryDetailSchema } } },
      } as const,
    },
    async (request, reply) => {
      const queued = await app.webhooks.resend(owner(request), request.params.id);
      if (!queued) throw new DeliveryNotFound();
      await audit(request, 'webhook.delivery.resent', `webhook-delivery:${queued.id}`, {
        endpointId: queued.endpointId,
        status: queued.status,
      });
      return reply.code(202).send(detail(queued));
    },
  );

  app.post(
    '/v1/webhooks/endpoints/:id/recover',
    {
      config: {
        auth: 'account',
        quota: { limits: [DELIVERY_LIMITS.recover] },
        errors: { 400: ['HF_WEBHOOK_INVALID_QUERY'], 404: ['HF_WEBHOOK_ENDPOINT_NOT_FOUND'] },
      },
      schema: {
        tags: ['webhooks'],
        summary:
          'Queue again the failed deliveries of the endpoint created since a time, the oldest 1,000 a call (held while it is disabled)',
        description:
          'The first 20 are due at once, the rest one every 100 ms after whatever the account already has waiting, so one account cannot hold up the others. `remaining`: how many failed deliveries since that time are still not queued; call again for them.',
        security: [{ bearer: [] }],
        params: idParams,
        body: { type: 'object', required: ['since'], additionalProperties: false, properties: { since: dateTime } },
        response: {
          202: {
            type: 'object',
            properties: {
              queued: { type: 'integer', description: 'queued by this call (at most 1,000, the oldest first)' },
              remaining: {
                type: 'integer',
                description: 'failed deliveries since that time still not queued: call again',
              },
              status: { enum: ['pending', 'held'] },
            },
          },
        },
      } as const,
    },
    async (request, reply) => {
      const done = await app.webhooks.recover(owner(request), request.params.id, request.body.since);
      if (!done) throw new EndpointNotFound();
      await audit(request, 'webhook.endpoint.recovered', `webhook-endpoint:${request.params.id}`, {
        since: request.body.since,
        queued: done.queued,
        remaining: done.remaining,
        status: done.status,
      });
      return reply.code(202).send(done);
    },
  );

  app.post(
    '/v1/webhooks/endpoints/:id/enable',
    {
      config: {
        auth: 'account',
        quota: { limits: [DELIVERY_LIMITS.enable] },
        errors: { 404: ['HF_WEBHOOK_ENDPOINT_NOT_FOUND'] },
      },
      schema: {
        tags: ['webhooks'],
        summary:
          'Enable a disabled endpoint: its held deliveries are sent (the first 20 at once, the rest one every 100 ms)',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 200: { type: 'object', properties: { endpoint: endpointSchema, released: { type: 'integer' } } } },
      } as const,
    },
    async (request) => {
      const done = await app.webhooks.enable(owner(request), request.params.id);
      if (!done) throw new EndpointNotFound();
      await audit(request, 'webhook.endpoint.enabled', `webhook-endpoint:${request.params.id}`, {
        released: done.released,
        status: done.endpoint.status,
      });
      return { endpoint: endpointView(done.endpoint), released: done.released };
    },
  );
};

export default deliveryRoutes;
