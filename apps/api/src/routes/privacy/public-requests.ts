/**
 * Rights requests without an account (issue 32 item 2): `POST /v1/privacy/public-requests`
 * `{ email, kind, contact?, details? }` → 202 `{ id }` sends a six-digit code to the address;
 * `POST /v1/privacy/public-requests/:id/verify` `{ code }` opens the request (the clock running
 * from the submission); `POST .../:id/code` sends a new code. The same answers whoever the address
 * belongs to: an account holder's verified address makes the request the account's, and only the
 * person who reads that mailbox learns it. Limited per client IP (the route's limits) and per
 * address (quota's keyed limits: the address is stored as an HMAC). The no-JavaScript form at
 * `/privacy/request` is request-form.ts. The code and every message about the request are written
 * in the body's `lang`, else the Accept-Language header's when one is sent (issue 32 item 7).
 */
import { REQUEST_KINDS } from '@harakaflow/data-rights';
import { E164_PATTERN as E164 } from '@harakaflow/core';
import { askedLanguage, languageOfTag, PAGE_LANGUAGES } from '../../languages/languages.js';
import { sendRequestCode } from '../../privacy/rights-intake.js';
import { confirmRequest } from '../../privacy/contact-requests.js';
import { resendQuota, submitQuota, verifyQuota } from './public-request-limits.js';
import type { Routes } from '../../http/schema-types.js';
import requestForm from './request-form.js';
import type { Subprocessor } from '../../privacy/subprocessors.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;
const accepted = { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } as const;
const QUOTA_503 = { 503: ['HF_QUOTA_UNAVAILABLE'] };

const publicRequests: Routes<{ origin: string; register?: readonly Subprocessor[] }> = async (
  app,
  { origin, register = [] },
) => {
  app.post(
    '/v1/privacy/public-requests',
    {
      config: {
        auth: 'public',
        ageGate: false,
        quota: submitQuota,
        errors: { 400: ['HF_DATA_RIGHTS_INVALID_REQUEST'], ...QUOTA_503 },
      },
      schema: {
        tags: ['privacy'],
        summary:
          'A rights request without an account: a six-digit code goes to `email` (10 minutes, 5 tries); the request opens when it is entered. The same answer whoever the address belongs to',
        body: {
          type: 'object',
          required: ['email', 'kind'],
          additionalProperties: false,
          properties: {
            email: { type: 'string', format: 'email', maxLength: 254 },
            kind: { enum: [...REQUEST_KINDS] },
            // A phone number the request is about: kept on the request for its own verification.
            contact: { type: 'string', pattern: E164 },
            details: { type: 'string', maxLength: 2000 },
            // Issue 32 item 7: the language of the code and of every message about the request;
            // without it, the Accept-Language header's (when sent), else English.
            lang: { enum: [...PAGE_LANGUAGES] },
          },
        },
        response: { 202: accepted },
      } as const,
    },
    async (request, reply) => {
      const lang = askedLanguage(request, request.body.lang);
      const { id } = await app.dataRights.intake.submit({ ...request.body, lang });
      await sendRequestCode(app, id, request.body.email.toLowerCase(), lang);
      return reply.code(202).send({ id });
    },
  );

  app.post(
    '/v1/privacy/public-requests/:id/verify',
    {
      config: {
        auth: 'public',
        ageGate: false,
        audit: { path: 'route' },
        quota: verifyQuota,
        errors: {
          400: ['HF_DATA_RIGHTS_CODE_INVALID', 'HF_DATA_RIGHTS_INVALID_REQUEST'],
          404: ['HF_DATA_RIGHTS_SUBJECT_NOT_FOUND'],
          410: ['HF_DATA_RIGHTS_CODE_EXPIRED', 'HF_DATA_RIGHTS_CODE_ATTEMPTS'],
          ...QUOTA_503,
        },
      },
      schema: {
        tags: ['privacy'],
        summary:
          'Enter the emailed code: the request opens (or, read from the privacy mailbox, is confirmed), its 30 days running from when it was received',
        params: idParams,
        body: {
          type: 'object',
          required: ['code'],
          additionalProperties: false,
          properties: { code: { type: 'string', minLength: 1, maxLength: 20 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              kind: { type: 'string' },
              status: { type: 'string' },
              receivedAt: { type: 'string' },
              dueAt: { type: 'string' },
              // The request is about a phone number: the next step proves it (POST .../phone-code).
              phoneProof: { type: 'boolean' },
            },
          },
        },
      } as const,
    },
    async (request) => {
      // A request read from the mailbox without a language takes this one's Accept-Language, if sent.
      const done = await confirmRequest(app, request.params.id, request.body.code, { lang: askedLanguage(request) });
      return {
        id: done.id,
        kind: done.kind,
        status: done.status,
        receivedAt: done.receivedAt,
        dueAt: done.extendedDueAt ?? done.dueAt,
        phoneProof: done.contact !== undefined,
      };
    },
  );

  app.post(
    '/v1/privacy/public-requests/:id/code',
    {
      config: { auth: 'public', ageGate: false, audit: { path: 'route' }, quota: resendQuota, errors: QUOTA_503 },
      schema: {
        tags: ['privacy'],
        summary:
          'Send a new code for a request waiting for one (the previous code stops working); 202 whether or not one waits',
        params: idParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: {} },
        response: { 202: accepted },
      } as const,
    },
    async (request, reply) => {
      const waiting = await app.dataRights.intake.waiting(request.params.id);
      if (waiting)
        await sendRequestCode(
          app,
          request.params.id,
          waiting.address,
          languageOfTag(waiting.lang) ?? askedLanguage(request),
        );
      return reply.code(202).send({ id: request.params.id });
    },
  );

  await app.register(requestForm, { origin, register });
};

export default publicRequests;
