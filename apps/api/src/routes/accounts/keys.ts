/**
 * An account's API keys (issue 30 item 11): `POST /v1/keys` (a new key, in this answer only),
 * `GET /v1/keys` (id, prefix, created, last used), `DELETE /v1/keys/:id`. Bearer keys only: a
 * privacy-centre session cannot mint or revoke keys (auth.ts `acceptsSession`).
 *
 * A revoked key is refused at once on the replica that revoked it (its auth cache forgets the
 * account) and within AUTH_CACHE_MS on the others; the account's privacy-centre sessions end with
 * it (a session does not record which key opened it, and a revocation answers a leak). At most
 * MAX_API_KEYS live keys; the last one cannot be revoked (409 HF_API_KEY_LAST): an account is
 * never left without a way in but its deletion.
 */
import { securityEvent } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyRequest } from 'fastify';
import { createApiKey, listApiKeys, MAX_API_KEYS, revokeApiKey, type ApiKeyView } from '../../data/api-keys.js';
import { ApiKeyLast, ApiKeyLimit, ApiKeyNotFound } from '../../http/errors.js';
import { NO_CONTENT } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';
import { revokeAccountSessions } from '../../data/sessions.js';

const keySchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    prefix: {
      type: 'string',
      description: 'the first 10 characters of the key: enough to tell keys apart, not to use one',
    },
    createdAt: { type: 'string', format: 'date-time' },
    lastUsedAt: {
      type: ['string', 'null'],
      format: 'date-time',
      description: 'the last request it authenticated, to the minute; null: never used',
    },
  },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;

const view = (k: ApiKeyView) => ({
  id: k.id,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
});

const keyRoutes: Routes<{ db: Database }> = async (app, { db }) => {
  const owner = (request: FastifyRequest) => request.account!.id;
  const audit = (request: FastifyRequest, action: string, id: string) =>
    securityEvent(app, request, {
      action,
      resource: `api-key:${id}`,
      subjectId: owner(request),
      outcome: 'success',
      durability: 'sync',
    });

  app.post(
    '/v1/keys',
    {
      config: { auth: 'account', errors: { 409: ['HF_API_KEY_LIMIT'] } },
      schema: {
        tags: ['keys'],
        summary: `Create an API key (at most ${MAX_API_KEYS} live per account); the key is in this answer only`,
        security: [{ bearer: [] }],
        response: {
          201: {
            type: 'object',
            properties: {
              ...keySchema.properties,
              apiKey: { type: 'string', description: 'the key itself: shown once, never stored' },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const created = await createApiKey(db, owner(request));
      if (created === 'limit') throw new ApiKeyLimit(String(MAX_API_KEYS));
      await audit(request, 'api_key.created', created.id);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({ ...view(created), apiKey: created.key });
    },
  );

  app.get(
    '/v1/keys',
    {
      config: { auth: 'account' },
      schema: {
        tags: ['keys'],
        summary: "The account's live API keys (never the keys themselves)",
        security: [{ bearer: [] }],
        response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } } },
      },
    },
    async (request) => ({ keys: (await listApiKeys(db, owner(request))).map(view) }),
  );

  app.delete(
    '/v1/keys/:id',
    {
      config: { auth: 'account', errors: { 404: ['HF_API_KEY_NOT_FOUND'], 409: ['HF_API_KEY_LAST'] } },
      schema: {
        tags: ['keys'],
        summary:
          "Revoke an API key: refused at once here, within AUTH_CACHE_MS on other replicas; the account's privacy-centre sessions end; not its last key",
        security: [{ bearer: [] }],
        params: idParams,
        response: { 204: NO_CONTENT },
      } as const,
    },
    async (request, reply) => {
      const accountId = owner(request);
      const outcome = await revokeApiKey(db, accountId, request.params.id);
      if (outcome === 'not-found') throw new ApiKeyNotFound();
      if (outcome === 'last') throw new ApiKeyLast();
      // This replica forgets the account's cached keys now; the others within AUTH_CACHE_MS.
      app.authCache.invalidate(accountId);
      await revokeAccountSessions(db, accountId);
      await audit(request, 'api_key.revoked', request.params.id);
      return reply.code(204).send();
    },
  );
};

export default keyRoutes;
