import { securityEvent } from '@harakaflow/core';
import { LEGACY_VAULT_SESSION } from '@harakaflow/webhooks/internals';
import type { FastifyRequest } from 'fastify';
import { CredentialNotFound, ReservedNamespace } from '../../http/errors.js';
import { NO_CONTENT } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';

/**
 * Session ids these routes refuse (issue 12 item 11): where another package kept its secrets in
 * the default namespace before namespaces existed. The routes only ever address `whatsapp`.
 */
const RESERVED_SESSIONS: ReadonlySet<string> = new Set([LEGACY_VAULT_SESSION]);

const ID = { type: 'string', pattern: '^[A-Za-z0-9._:@-]{1,128}$' } as const;
const sessionParams = { type: 'object', required: ['sessionId'], properties: { sessionId: ID } } as const;
const recordParams = {
  type: 'object',
  required: ['sessionId', 'name'],
  properties: { sessionId: ID, name: ID },
} as const;

// The API stores the JSON it is given and returns it unchanged: plain JSON, not Baileys' BufferJSON
// (whose reviver would turn a client's {type:'Buffer'} object into bytes).
const encodeJson = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const decodeJson = (bytes: Buffer): unknown => JSON.parse(bytes.toString('utf8'));

/**
 * WhatsApp session credentials in the vault (policy §3). Only the owning account reaches its records:
 * another account's are "not found", and the admin principal cannot read plaintext at all (these
 * routes are account-only). Every read, write and delete is audited with sync durability, without
 * the secret: if the audit record cannot be written, the operation is refused.
 */
const credentials: Routes = async (app) => {
  const audit = (request: FastifyRequest, action: string, resource: string) =>
    securityEvent(app, request, { action, resource, outcome: 'success', durability: 'sync' });
  const owner = (request: FastifyRequest) => request.account!.id;
  // Every route here names a session: a reserved one is refused before anything is read or audited.
  app.addHook('preHandler', async (request) => {
    const sessionId = (request.params as { sessionId?: string }).sessionId;
    if (sessionId !== undefined && RESERVED_SESSIONS.has(sessionId)) throw new ReservedNamespace();
  });

  app.put(
    '/v1/whatsapp/sessions/:sessionId/credentials/:name',
    {
      // The value is sealed before it is stored: it may hold any character.
      config: {
        auth: 'account',
        nulAllowed: ['value'],
        errors: { 400: ['HF_VAULT_RESERVED_NAMESPACE'], 503: ['HF_VAULT_STORE_FAILED'] },
      },
      schema: {
        tags: ['credentials'],
        summary: 'Store a credential (any JSON), encrypted',
        security: [{ bearer: [] }],
        params: recordParams,
        body: { type: 'object', required: ['value'], additionalProperties: false, properties: { value: {} } },
        response: { 200: { type: 'object', properties: { name: { type: 'string' }, updatedAt: { type: 'string' } } } },
      } as const,
    },
    async (request) => {
      const { sessionId, name } = request.params;
      await audit(request, 'vault.secret.write', `${sessionId}/${name}`);
      const { updatedAt } = await app.vault.put(
        { accountId: owner(request), sessionId, name },
        encodeJson(request.body.value),
      );
      return { name, updatedAt: updatedAt.toISOString() };
    },
  );

  app.get(
    '/v1/whatsapp/sessions/:sessionId/credentials/:name',
    {
      config: {
        auth: 'account',
        errors: {
          400: ['HF_VAULT_RESERVED_NAMESPACE'],
          404: ['HF_VAULT_NOT_FOUND'],
          500: ['HF_VAULT_DECRYPT_FAILED'],
          503: ['HF_VAULT_KEY_UNAVAILABLE'],
        },
      },
      schema: {
        tags: ['credentials'],
        summary: 'Read a credential',
        security: [{ bearer: [] }],
        params: recordParams,
        response: {
          200: { type: 'object', properties: { name: { type: 'string' }, value: {}, updatedAt: { type: 'string' } } },
        },
      } as const,
    },
    async (request) => {
      const { sessionId, name } = request.params;
      const found = await app.vault.get({ accountId: owner(request), sessionId, name });
      if (!found) throw new CredentialNotFound();
      await audit(request, 'vault.secret.read', `${sessionId}/${name}`);
      return { name, value: decodeJson(found.value), updatedAt: found.updatedAt.toISOString() };
    },
  );

  app.delete(
    '/v1/whatsapp/sessions/:sessionId/credentials/:name',
    {
      config: { auth: 'account', errors: { 400: ['HF_VAULT_RESERVED_NAMESPACE'], 404: ['HF_VAULT_NOT_FOUND'] } },
      schema: {
        tags: ['credentials'],
        summary: 'Delete a credential',
        security: [{ bearer: [] }],
        params: recordParams,
        response: { 204: NO_CONTENT },
      } as const,
    },
    async (request, reply) => {
      const { sessionId, name } = request.params;
      await audit(request, 'vault.secret.delete', `${sessionId}/${name}`);
      if (!(await app.vault.delete({ accountId: owner(request), sessionId, name }))) throw new CredentialNotFound();
      return reply.code(204).send();
    },
  );

  app.delete(
    '/v1/whatsapp/sessions/:sessionId',
    {
      config: { auth: 'account', errors: { 400: ['HF_VAULT_RESERVED_NAMESPACE'] } },
      schema: {
        tags: ['credentials'],
        summary: 'Crypto-shred a WhatsApp session: every credential of it deleted',
        security: [{ bearer: [] }],
        params: sessionParams,
        response: { 200: { type: 'object', properties: { deleted: { type: 'integer' } } } },
      } as const,
    },
    async (request) => {
      await audit(request, 'vault.session.delete', request.params.sessionId);
      return { deleted: await app.vault.deleteSession(owner(request), request.params.sessionId) };
    },
  );
};

export default credentials;
