// The account's own rights requests: filed, listed, read, canceled, lifted; with their export link and messages.
import { REQUEST_KINDS } from '@harakaflow/data-rights';
import type { FastifyRequest } from 'fastify';
import { sessionCookieOptions } from '../../data/sessions.js';
import { askedLanguage, PAGE_LANGUAGES } from '../../languages/languages.js';
import { CONSENT_CHOICES, OBJECTION_CHOICES, requestDetails } from '../../privacy/request-details.js';
import type { Routes } from '../../http/schema-types.js';
import exportRoutes from './exports.js';
import requestMessageRoutes from './messages.js';
import { E164, idParams, listSchema, REQUEST_ERRORS, requestSchema, whilePending } from './request-schemas.js';

/** The account's requests for itself or for one of its contacts (policy §6, issue 14). */
const accountRequestRoutes: Routes<{ session?: { cookieName: string; secure: boolean } | undefined }> = async (
  app,
  { session },
) => {
  const owner = (request: FastifyRequest) => request.account!.id;

  app.post(
    '/v1/privacy/requests',
    {
      config: { auth: 'account', errors: { ...REQUEST_ERRORS, 403: ['HF_DATA_RIGHTS_RESTRICTED'] } },
      schema: {
        tags: ['privacy'],
        summary:
          'File a rights request (§6) for the account, or for one of its contacts (an E.164 number); an objection may name the use it is about (`purpose`), a withdrawal the consent (`consent`)',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: {
            kind: { enum: [...REQUEST_KINDS] },
            contact: { type: 'string', pattern: E164 },
            details: { type: 'string', maxLength: 2000 },
            // Issue 32 item 6: the §2 use an objection is about, the consent a withdrawal withdraws
            // (request-details.ts).
            purpose: { enum: [...OBJECTION_CHOICES] },
            consent: { enum: [...CONSENT_CHOICES] },
            // Issue 32 item 7: the language of the messages about it; without it, the Accept-Language
            // header's when one is sent (the privacy centre's browser), else none (English).
            lang: { enum: [...PAGE_LANGUAGES] },
          },
        },
        response: { 202: requestSchema },
      } as const,
    },
    async (request, reply) => {
      const { kind, contact } = request.body;
      const { details, manual } = requestDetails(request.body);
      const subject = contact
        ? { kind: 'contact' as const, accountId: owner(request), phone: contact }
        : { kind: 'account' as const, accountId: owner(request) };
      const filed = await app.dataRights.file({
        kind,
        subject,
        filedBy: 'self',
        verification: 'api-key',
        details,
        lang: askedLanguage(request, request.body.lang),
        ...(manual ? { manual } : {}),
      });
      // A deletion signs the person out (its sessions are revoked with it): the page's cookie goes too.
      if (kind === 'deletion' && !contact && session && request.cookies[session.cookieName] !== undefined)
        reply.clearCookie(session.cookieName, sessionCookieOptions(session.secure));
      return reply.code(202).send(filed);
    },
  );

  app.get(
    '/v1/privacy/requests',
    {
      config: whilePending,
      schema: {
        tags: ['privacy'],
        summary: "The account's own requests, newest first",
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { cursor: { type: 'string', maxLength: 100 } },
        },
        response: { 200: listSchema },
      } as const,
    },
    async (request) => app.dataRights.list({ accountId: owner(request), cursor: request.query.cursor }),
  );

  app.get(
    '/v1/privacy/requests/:id',
    {
      config: whilePending,
      schema: {
        tags: ['privacy'],
        summary: 'A request: status, due date, export link, erasure receipt',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 200: requestSchema },
      } as const,
    },
    async (request) => app.dataRights.get(request.params.id, owner(request)),
  );

  app.post(
    '/v1/privacy/requests/:id/cancel',
    {
      config: whilePending,
      schema: {
        tags: ['privacy'],
        summary: 'Cancel a request not yet carried out; canceling a deletion restores the account',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 200: requestSchema },
      } as const,
    },
    async (request) => app.dataRights.cancel(request.params.id, 'self', owner(request)),
  );

  // The export link: GET a page that changes nothing, POST to download (issue 30 item 7).
  await app.register(exportRoutes);
  // The messages a request came in by (issue 32): listed, and downloaded as they arrived, never rendered.
  await app.register(requestMessageRoutes);

  app.post(
    '/v1/privacy/requests/:id/lift',
    {
      config: { auth: 'account', errors: REQUEST_ERRORS },
      schema: {
        tags: ['privacy'],
        summary:
          'Lift a restriction of processing in force (the account’s own fulfilled restriction request); audited, and the account is told',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 200: requestSchema },
      } as const,
    },
    async (request) => app.dataRights.lift(request.params.id, 'self', { accountId: owner(request) }),
  );
};

export default accountRequestRoutes;
