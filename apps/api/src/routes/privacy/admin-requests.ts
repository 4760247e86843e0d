// The admin's side of rights requests: requests emailed to privacy@ filed, and the queue answered with its deadlines.
import { ALL_REQUEST_KINDS, REQUEST_KINDS, REQUEST_STATUSES, type FilingKind } from '@harakaflow/data-rights';
import type { RouteErrors } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';
import { PAGE_LANGUAGES } from '../../languages/languages.js';
import { E164, idParams, listSchema, REQUEST_ERRORS, requestSchema } from './request-schemas.js';

const adminRequestRoutes: Routes = async (app) => {
  // The admin's side: requests emailed to privacy@, and the queue with its deadlines.
  app.post(
    '/v1/admin/privacy/requests',
    {
      config: { auth: 'admin', ageGate: false, errors: REQUEST_ERRORS },
      schema: {
        tags: ['admin'],
        summary: 'File a request received by email; without `verification` it waits for it (and expires after 30 days)',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: {
            kind: { enum: [...REQUEST_KINDS] },
            accountId: { type: 'string', format: 'uuid' },
            email: { type: 'string', minLength: 3, maxLength: 320 },
            contact: { type: 'string', pattern: E164 },
            verification: { type: 'string', minLength: 1, maxLength: 500 },
            details: { type: 'string', maxLength: 2000 },
            // Issue 30 item 9: the address the request came from, told of every step (an email
            // subject's own address when not given); kept until the request's last message is queued.
            replyTo: { type: 'string', minLength: 3, maxLength: 320 },
            // Issue 32 item 7: the language the person wrote in, for every message about it (default English).
            lang: { enum: [...PAGE_LANGUAGES] },
          },
        },
        response: { 202: requestSchema },
      } as const,
    },
    async (request, reply) => {
      const { kind, accountId, email, contact, verification, details, replyTo, lang } = request.body;
      const subject =
        accountId && contact
          ? { kind: 'contact', accountId, phone: contact }
          : accountId && !email
            ? { kind: 'account', accountId }
            : email && !accountId && !contact
              ? { kind: 'email', email }
              : null;
      const filed = await app.dataRights.file({
        kind,
        subject: subject as never,
        filedBy: 'admin',
        verification: verification ?? null,
        details: details ?? null,
        replyTo: replyTo ?? null,
        lang: lang ?? null,
      });
      return reply.code(202).send(filed);
    },
  );

  app.get(
    '/v1/admin/privacy/requests',
    {
      config: { auth: 'admin', ageGate: false, errors: REQUEST_ERRORS },
      schema: {
        tags: ['admin'],
        summary: 'The request queue, newest first, keyset-paginated',
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { enum: [...REQUEST_STATUSES] },
            kind: { enum: [...ALL_REQUEST_KINDS] },
            overdue: { type: 'boolean' },
            dueBefore: { type: 'string', format: 'date-time' },
            cursor: { type: 'string', maxLength: 100 },
            limit: { type: 'integer', minimum: 1, maximum: 200 },
          },
        },
        response: { 200: listSchema },
      } as const,
    },
    async (request) => {
      const q = request.query;
      return app.dataRights.list({
        status: q.status,
        kind: q.kind,
        overdue: q.overdue,
        dueBefore: q.dueBefore ? new Date(q.dueBefore) : undefined,
        cursor: q.cursor,
        limit: q.limit,
      });
    },
  );

  const adminAction = <B extends object | null>(
    path: string,
    summary: string,
    body: object,
    act: (id: string, body: B) => Promise<unknown>,
    errors: RouteErrors = {},
  ) =>
    app.post<{ Params: { id: string }; Body: B }>(
      `/v1/admin/privacy/requests/:id/${path}`,
      {
        config: { auth: 'admin', ageGate: false, errors: { ...REQUEST_ERRORS, ...errors } },
        schema: {
          tags: ['admin'],
          summary,
          security: [{ bearer: [] }],
          params: idParams,
          body,
          response: { 200: requestSchema },
        },
      },
      async (request) => act(request.params.id, request.body as B),
    );
  const reasonBody = (field: string) => ({
    type: 'object',
    required: [field],
    additionalProperties: false,
    properties: { [field]: { type: 'string', minLength: 1, maxLength: 2000 } },
  });
  adminAction<{ days: number; reason: string }>(
    'extend',
    'Extend the deadline once, by at most 60 days, with the reason the requester is told',
    {
      type: 'object',
      required: ['days', 'reason'],
      additionalProperties: false,
      properties: {
        days: { type: 'integer', minimum: 1, maximum: 60 },
        reason: { type: 'string', minLength: 1, maxLength: 2000 },
      },
    },
    (id, b) => app.dataRights.extend(id, b.days, b.reason),
  );
  adminAction<{ reason: string }>('deny', 'Deny a request, with the reason', reasonBody('reason'), (id, b) =>
    app.dataRights.deny(id, b.reason),
  );
  adminAction<{ note?: string }>(
    'fulfil',
    'Mark a request handled outside the kit (an objection, an email correction) as fulfilled',
    {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: { note: { type: 'string', minLength: 1, maxLength: 2000 } },
    },
    (id, b) => app.dataRights.fulfil(id, b?.note),
  );
  adminAction<{ verification: string }>(
    'verify',
    'Record how the requester of an emailed request was verified; the request starts',
    reasonBody('verification'),
    (id, b) => app.dataRights.verify(id, b.verification),
  );
  adminAction<{ reason: string }>(
    'lift',
    'Lift a restriction of processing in force, with the reason the account is told; audited',
    reasonBody('reason'),
    (id, b) => app.dataRights.lift(id, 'admin', { reason: b.reason }),
  );
  adminAction<{ kind: FilingKind }>(
    'classify',
    'Give a request read from the privacy mailbox whose kind was not clear (`unclassified`) its kind; a verified one then starts',
    {
      type: 'object',
      required: ['kind'],
      additionalProperties: false,
      properties: { kind: { enum: [...REQUEST_KINDS] } },
    },
    (id, b) => app.dataRights.classify(id, b.kind),
  );
  adminAction<null>(
    'resend-export',
    'Send a live export link to the person again (its request’s update message, which reads the link when sent); the admin never sees the link. 410 once it is used or expired',
    { type: ['object', 'null'], additionalProperties: false, properties: {} },
    (id) => app.dataRights.resendExport(id),
    { 410: ['HF_DATA_RIGHTS_EXPORT_GONE'] },
  );
};

export default adminRequestRoutes;
