import { securityEvent } from '@harakaflow/core';
import type { Endpoint } from '@harakaflow/webhooks';
import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { codeIn, textMessages } from '../../privacy/contact-requests.js';
import { EndpointNotFound, WebhookNotConfigured, WebhookVerifyRefused } from '../../http/errors.js';
import { NO_CONTENT } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';

/** Codes matched per sending number an hour (messages past it are acknowledged and ignored). */
export const INBOUND_CODE_LIMIT = { name: 'rights.contact.inbound', points: 20, duration: 3600 };

export const WEBHOOK_EVENT_TYPES = [
  'message.accepted',
  'quota.warning',
  'privacy.request.updated',
  'privacy.request.forwarded',
] as const;

export const endpointSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    status: {
      type: 'string',
      description:
        'active, disabled (by a 410 or days of failures: its deliveries are held), or paused (the account is being deleted)',
    },
    disabledReason: { type: ['string', 'null'] },
    failingSince: {
      type: ['string', 'null'],
      description: 'since when every attempt has failed; null when the last one succeeded',
    },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;
export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;
export const endpointView = (e: Endpoint) => ({
  ...e,
  failingSince: e.failingSince?.toISOString() ?? null,
  createdAt: e.createdAt.toISOString(),
  updatedAt: e.updatedAt.toISOString(),
});

/**
 * Webhooks (policy §3): customers' endpoints (account-owned; another account's are "not found"),
 * with a whsec_ secret shown once and kept in the credential vault; and Meta's inbound webhook,
 * verified with META_APP_SECRET before its body is parsed.
 */
const webhookRoutes: Routes<{ metaAppSecret: string | undefined; metaVerifyToken: string | undefined }> = async (
  app,
  { metaAppSecret, metaVerifyToken },
) => {
  const owner = (request: FastifyRequest) => request.account!.id;
  const audit = (request: FastifyRequest, action: string, id: string) =>
    securityEvent(app, request, { action, resource: `webhook-endpoint:${id}`, outcome: 'success', durability: 'sync' });

  app.post(
    '/v1/webhooks/endpoints',
    {
      config: { auth: 'account', errors: { 400: ['HF_WEBHOOK_INVALID_ENDPOINT', 'HF_WEBHOOK_DESTINATION_REFUSED'] } },
      schema: {
        tags: ['webhooks'],
        summary: 'Register an endpoint; the whsec_ signing secret is in this answer only',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['url', 'events'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', minLength: 8, maxLength: 2048 },
            events: { type: 'array', minItems: 1, maxItems: 50, items: { enum: [...WEBHOOK_EVENT_TYPES, '*'] } },
          },
        },
        response: { 201: { type: 'object', properties: { endpoint: endpointSchema, secret: { type: 'string' } } } },
      } as const,
    },
    async (request, reply) => {
      const { endpoint, secret } = await app.webhooks.create(owner(request), request.body);
      await audit(request, 'webhook.endpoint.created', endpoint.id);
      return reply.code(201).send({ endpoint: endpointView(endpoint), secret });
    },
  );

  app.get(
    '/v1/webhooks/endpoints',
    {
      config: { auth: 'account' },
      schema: {
        tags: ['webhooks'],
        summary: "The account's endpoints (never their secrets)",
        security: [{ bearer: [] }],
        response: { 200: { type: 'object', properties: { endpoints: { type: 'array', items: endpointSchema } } } },
      },
    },
    async (request) => ({ endpoints: (await app.webhooks.list(owner(request))).map(endpointView) }),
  );

  app.post(
    '/v1/webhooks/endpoints/:id/rotate-secret',
    {
      config: { auth: 'account', errors: { 404: ['HF_WEBHOOK_ENDPOINT_NOT_FOUND'] } },
      schema: {
        tags: ['webhooks'],
        summary: 'A new secret; deliveries carry signatures for the new and the old one for 24 h',
        security: [{ bearer: [] }],
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: { secret: { type: 'string' }, previousSecretValidUntil: { type: 'string' } },
          },
        },
      } as const,
    },
    async (request) => {
      const rotated = await app.webhooks.rotate(owner(request), request.params.id);
      if (!rotated) throw new EndpointNotFound();
      await audit(request, 'webhook.endpoint.secret_rotated', request.params.id);
      return { secret: rotated.secret, previousSecretValidUntil: rotated.previousValidUntil.toISOString() };
    },
  );

  app.delete(
    '/v1/webhooks/endpoints/:id',
    {
      config: { auth: 'account', errors: { 404: ['HF_WEBHOOK_ENDPOINT_NOT_FOUND'] } },
      schema: {
        tags: ['webhooks'],
        summary: 'Delete an endpoint, its secrets and its pending deliveries',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 204: NO_CONTENT },
      } as const,
    },
    async (request, reply) => {
      if (!(await app.webhooks.remove(owner(request), request.params.id))) throw new EndpointNotFound();
      await audit(request, 'webhook.endpoint.deleted', request.params.id);
      return reply.code(204).send();
    },
  );

  // Meta checks the callback URL once: echo hub.challenge when hub.verify_token matches.
  app.get(
    '/v1/webhooks/inbound/meta',
    {
      config: {
        auth: 'public',
        ageGate: false,
        errors: { 403: ['HF_WEBHOOK_VERIFY_REFUSED'], 503: ['HF_WEBHOOK_NOT_CONFIGURED'] },
      },
      schema: {
        tags: ['webhooks'],
        summary: "Meta's callback verification (hub.challenge)",
        response: {
          200: { description: 'hub.challenge, echoed', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
        querystring: {
          type: 'object',
          properties: {
            'hub.mode': { type: 'string', maxLength: 32 },
            'hub.verify_token': { type: 'string', maxLength: 256 },
            'hub.challenge': { type: 'string', maxLength: 256 },
          },
        },
      } as const,
    },
    async (request, reply) => {
      if (!metaVerifyToken) throw new WebhookNotConfigured();
      const q = request.query;
      const given = Buffer.from(q['hub.verify_token'] ?? '');
      const expected = Buffer.from(metaVerifyToken);
      const matches = given.length === expected.length && timingSafeEqual(given, expected);
      if (q['hub.mode'] !== 'subscribe' || !matches || !q['hub.challenge']) throw new WebhookVerifyRefused();
      return reply.type('text/plain; charset=utf-8').send(q['hub.challenge']);
    },
  );

  // No body schema: the raw delivery is verified before any parser sees it (the webhooks plugin), so its type is said
  // here.
  app.post<{ Body: { object?: string; entry?: unknown[] } }>(
    '/v1/webhooks/inbound/meta',
    {
      config: {
        auth: 'public',
        ageGate: false,
        ...(metaAppSecret ? { webhook: { scheme: 'meta' as const, secrets: [metaAppSecret] } } : {}),
        errors: {
          401: ['HF_WEBHOOK_MISSING_HEADER', 'HF_WEBHOOK_BAD_SIGNATURE', 'HF_WEBHOOK_DUPLICATE_HEADER'],
          409: ['HF_WEBHOOK_IN_PROGRESS'],
          503: ['HF_WEBHOOK_NOT_CONFIGURED'],
        },
      },
      schema: {
        tags: ['webhooks'],
        summary: "Meta's WhatsApp Cloud API webhook, verified by X-Hub-Signature-256 (META_APP_SECRET)",
        response: {
          200: { type: 'object', properties: { received: { type: 'boolean' }, duplicate: { type: 'boolean' } } },
        },
      },
    },
    async (request) => {
      if (!metaAppSecret) throw new WebhookNotConfigured();
      const body = request.body && typeof request.body === 'object' ? request.body : {};
      // What arrives is recorded as a fact, not kept: processing Meta's events is the backend's job.
      await securityEvent(app, request, {
        action: 'webhook.inbound.received',
        resource: 'meta',
        outcome: 'success',
        details: {
          object: typeof body.object === 'string' ? body.object.slice(0, 64) : null,
          entries: Array.isArray(body.entry) ? body.entry.length : 0,
        },
      });
      // Issue 32 item 3: a text message carrying a contact's code proves their number. Limited per
      // number (the sender Meta reports); a failure releases the delivery for Meta's retry.
      const number = app.contactRequests.whatsappNumber;
      for (const m of textMessages(body)) {
        // Only a message to the privacy number itself: the Meta app may carry other numbers too.
        const code = codeIn(m.text);
        if (!number || m.to !== number || !code) continue;
        if (!(await app.quota.take(INBOUND_CODE_LIMIT, `rights-inbound:${m.phone}`)).allowed) continue;
        await app.contactRequests.receiveMessage(m.phone, code, request);
      }
      return { received: true };
    },
  );
};

export default webhookRoutes;
