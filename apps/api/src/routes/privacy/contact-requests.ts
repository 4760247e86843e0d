/**
 * Contacts' requests (issue 32 item 3), the routes: the person's WhatsApp code for the number a
 * public request is about (`POST /v1/privacy/public-requests/:id/phone-code`, and its state), and
 * what an account answers (`GET /v1/privacy/forwarded`, `POST /v1/privacy/forwarded/:id/fulfil`,
 * `.../deny`, `.../erase`). The inbound Meta webhook that proves the number is routes/webhooks.ts;
 * the logic is contact-requests.ts.
 */
import type { FastifyRequest } from 'fastify';
import { FORWARDED_STATUSES, forwardedView, issueProof, maskPhone } from '../../privacy/contact-requests.js';
import {
  ContactRequestNotFound,
  ForwardedAnswered,
  ForwardedNotErasable,
  ForwardedNotFound,
} from '../../http/errors.js';
import type { Routes } from '../../http/schema-types.js';
import { contactViewQuota, phoneCodeQuota } from './public-request-limits.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;
const forwardedSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    phone: { type: 'string' },
    status: { enum: [...FORWARDED_STATUSES] },
    receivedAt: { type: 'string' },
    dueAt: { type: 'string' },
    answeredAt: { type: ['string', 'null'] },
    note: { type: ['string', 'null'] },
    disclose: { type: 'boolean' },
    erasureRequestId: { type: ['string', 'null'] },
    receipt: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;
const stateSchema = {
  type: 'object',
  properties: { phone: { type: 'string' }, proved: { type: 'boolean' }, forwarded: { type: ['integer', 'null'] } },
} as const;
const ANSWER_ERRORS = { 404: ['HF_PRIVACY_FORWARDED_NOT_FOUND'], 409: ['HF_PRIVACY_FORWARDED_ANSWERED'] };
const disclose = {
  type: 'boolean',
  description: 'true: the person is told the business name of this account',
} as const;

const contactRequestRoutes: Routes = async (app) => {
  const owner = (request: FastifyRequest) => request.account!.id;

  app.post(
    '/v1/privacy/public-requests/:id/phone-code',
    {
      config: {
        auth: 'public',
        ageGate: false,
        audit: { path: 'route' },
        quota: phoneCodeQuota,
        errors: {
          404: ['HF_PRIVACY_CONTACT_NOT_FOUND'],
          409: ['HF_PRIVACY_CONTACT_PROVED'],
          429: ['HF_PRIVACY_CONTACT_CODE_LIMIT'],
          503: ['HF_PRIVACY_WHATSAPP_NOT_CONFIGURED', 'HF_QUOTA_UNAVAILABLE'],
        },
      },
      schema: {
        tags: ['privacy'],
        summary:
          'The code that proves the number a confirmed public request is about: send it from that WhatsApp number to `sendTo` within 30 minutes; the request is then passed to every business that holds the number. A new code replaces the last',
        params: idParams,
        response: {
          201: {
            type: 'object',
            properties: {
              code: { type: 'string' },
              sendTo: { type: 'string' },
              phone: { type: 'string' },
              expiresAt: { type: 'string' },
              whatsappUrl: { type: 'string' },
            },
          },
        },
      } as const,
    },
    async (request, reply) => reply.code(201).send(await issueProof(app, request.params.id.toLowerCase(), reply)),
  );

  app.get(
    '/v1/privacy/public-requests/:id/contact',
    {
      config: {
        auth: 'public',
        ageGate: false,
        quota: contactViewQuota,
        errors: { 404: ['HF_PRIVACY_CONTACT_NOT_FOUND'] },
      },
      schema: {
        tags: ['privacy'],
        summary: "Where the number's proof stands: proved, and how many businesses the request was passed to",
        params: idParams,
        response: { 200: stateSchema },
      } as const,
    },
    async (request) => {
      const state = await app.contactRequests.state(request.params.id.toLowerCase());
      if (!state) throw new ContactRequestNotFound();
      return { phone: maskPhone(state.phone), proved: state.proved, forwarded: state.forwarded };
    },
  );

  app.get(
    '/v1/privacy/forwarded',
    {
      config: { auth: 'account', pendingDeletion: true },
      schema: {
        tags: ['privacy'],
        summary:
          'The requests of contacts whose number this account holds, passed on by the service: each to answer by its due date (newest first)',
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { enum: [...FORWARDED_STATUSES] },
            cursor: { type: 'string', format: 'uuid' },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              forwarded: { type: 'array', items: forwardedSchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
        },
      } as const,
    },
    async (request) => {
      const q = request.query;
      const page = await app.contactRequests.list(owner(request), {
        status: q.status,
        cursor: q.cursor,
        limit: q.limit ?? 50,
      });
      return { forwarded: page.forwarded.map(forwardedView), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/privacy/forwarded/:id',
    {
      config: { auth: 'account', pendingDeletion: true, errors: { 404: ['HF_PRIVACY_FORWARDED_NOT_FOUND'] } },
      schema: {
        tags: ['privacy'],
        summary: 'One forwarded request',
        security: [{ bearer: [] }],
        params: idParams,
        response: { 200: forwardedSchema },
      } as const,
    },
    async (request) => {
      const row = await app.contactRequests.get(owner(request), request.params.id.toLowerCase());
      if (!row) throw new ForwardedNotFound();
      return forwardedView(row);
    },
  );

  const answered = (outcome: Awaited<ReturnType<typeof app.contactRequests.answer>>) => {
    if (outcome === 'missing') throw new ForwardedNotFound();
    if (outcome === 'answered') throw new ForwardedAnswered();
    if (outcome === 'not-erasable') throw new ForwardedNotErasable();
    return forwardedView(outcome);
  };

  app.post(
    '/v1/privacy/forwarded/:id/fulfil',
    {
      config: { auth: 'account', pendingDeletion: true, errors: ANSWER_ERRORS },
      schema: {
        tags: ['privacy'],
        summary: 'The request was carried out: the person is told, with the note (plain text)',
        security: [{ bearer: [] }],
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { note: { type: 'string', maxLength: 2000 }, disclose },
        },
        response: { 200: forwardedSchema },
      } as const,
    },
    async (request) =>
      answered(
        await app.contactRequests.answer(
          owner(request),
          request.params.id.toLowerCase(),
          { action: 'fulfil', note: request.body?.note, disclose: request.body?.disclose },
          request,
        ),
      ),
  );

  app.post(
    '/v1/privacy/forwarded/:id/deny',
    {
      config: { auth: 'account', pendingDeletion: true, errors: ANSWER_ERRORS },
      schema: {
        tags: ['privacy'],
        summary: 'The request is refused, with its reason: the person is told, and of their right to complain',
        security: [{ bearer: [] }],
        params: idParams,
        body: {
          type: 'object',
          required: ['reason'],
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' }, disclose },
        },
        response: { 200: forwardedSchema },
      } as const,
    },
    async (request) =>
      answered(
        await app.contactRequests.answer(
          owner(request),
          request.params.id.toLowerCase(),
          { action: 'deny', reason: request.body.reason, disclose: request.body.disclose },
          request,
        ),
      ),
  );

  app.post(
    '/v1/privacy/forwarded/:id/erase',
    {
      config: {
        auth: 'account',
        pendingDeletion: true,
        errors: { ...ANSWER_ERRORS, 409: ['HF_PRIVACY_FORWARDED_ANSWERED', 'HF_PRIVACY_FORWARDED_NOT_ERASABLE'] },
      },
      schema: {
        tags: ['privacy'],
        summary:
          "The service erases the contact from this account's data now: status `erasing`, then `erased` with the signed receipt, which the person receives",
        security: [{ bearer: [] }],
        params: idParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { disclose } },
        response: { 202: forwardedSchema },
      } as const,
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(
          answered(
            await app.contactRequests.answer(
              owner(request),
              request.params.id.toLowerCase(),
              { action: 'erase', disclose: request.body?.disclose },
              request,
            ),
          ),
        ),
  );
};

export default contactRequestRoutes;
