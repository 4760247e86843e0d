// The privacy centre's sessions: an account's API key exchanged once for a cookie the page cannot read, read back, and
// ended.
import type { Database } from '@harakaflow/db';
import type { FastifyRequest } from 'fastify';
import { accountByApiKey, publicAccount } from '../../data/accounts.js';
import { createSession, csrfToken, revokeSession, sessionCookieOptions, SESSION_TTL_MS } from '../../data/sessions.js';
import { AuthInvalid, SessionCsrf } from '../../http/errors.js';
import { jsonObject, NO_CONTENT } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';

const centreSessionRoutes: Routes<{
  db: Database;
  origin: string;
  cookieName: string;
  secureCookies: boolean;
}> = async (app, o) => {
  app.post(
    '/v1/privacy/session',
    {
      config: { auth: 'public', ageGate: false, errors: { 403: ['HF_AUTH_CSRF'] } },
      schema: {
        tags: ['privacy'],
        summary:
          "Sign in to the privacy centre: an account's API key for a session cookie (HttpOnly, SameSite=Strict) and its CSRF token",
        response: {
          201: jsonObject('The session: its account, CSRF token, expiry and whether a deletion is pending', {
            csrfToken: { type: 'string' },
            expiresAt: { type: 'string' },
            deletionPending: { type: 'boolean' },
          }),
        },
        body: {
          type: 'object',
          required: ['apiKey'],
          additionalProperties: false,
          properties: { apiKey: { type: 'string', minLength: 1, maxLength: 512 } },
        },
      } as const,
    },
    async (request, reply) => {
      if (request.headers.origin !== o.origin) throw new SessionCsrf();
      // Key guessing is limited as for a Bearer key (the quota plugin's gate and failure count).
      if (await app.quota.authGate(request, reply)) return reply;
      const account = await accountByApiKey(o.db, request.body.apiKey);
      if (!account) {
        await app.quota.authFailed(request);
        throw new AuthInvalid();
      }
      const { token, expiresAt } = await createSession(o.db, account.id);
      request.principal = { kind: 'account', id: account.id };
      void request.audit.record({ action: 'privacy.session.created', outcome: 'success', subjectId: account.id });
      reply.setCookie(o.cookieName, token, { ...sessionCookieOptions(o.secureCookies), maxAge: SESSION_TTL_MS / 1000 });
      return reply.code(201).send({
        account: publicAccount(account),
        csrfToken: csrfToken(token),
        expiresAt: expiresAt.toISOString(),
        deletionPending: account.deletionPendingAt !== null,
      });
    },
  );

  const sessionToken = (request: FastifyRequest) => request.cookies[o.cookieName];
  app.get(
    '/v1/privacy/session',
    {
      config: { auth: 'account', pendingDeletion: true },
      schema: {
        tags: ['privacy'],
        summary: "The signed-in account and the session's CSRF token (send it as x-csrf-token)",
        response: {
          200: jsonObject('The signed-in account', {
            csrfToken: { type: ['string', 'null'] },
            deletionPending: { type: 'boolean' },
          }),
        },
      },
    },
    async (request) => {
      const token = sessionToken(request);
      return {
        account: publicAccount(request.account!),
        csrfToken: token ? csrfToken(token) : null,
        deletionPending: request.account!.deletionPendingAt !== null,
      };
    },
  );

  app.delete(
    '/v1/privacy/session',
    {
      config: { auth: 'account', pendingDeletion: true },
      schema: {
        tags: ['privacy'],
        summary: 'Sign out: the session is revoked and its cookie expired',
        response: { 204: NO_CONTENT },
      },
    },
    async (request, reply) => {
      const token = sessionToken(request);
      if (token) await revokeSession(o.db, token);
      reply.clearCookie(o.cookieName, sessionCookieOptions(o.secureCookies));
      return reply.code(204).send();
    },
  );
};

export default centreSessionRoutes;
