import { ALL_REQUEST_KINDS, REQUEST_KINDS, REQUEST_STATUSES, type FilingKind } from '@harakaflow/data-rights';
import type { Database } from '@harakaflow/db';
import { eq } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import { NAME_PATTERN, publicAccount } from '../../data/accounts.js';
import { sessionCookieOptions } from '../../data/sessions.js';
import { accounts } from '../../data/schema.js';
import { jsonObject, type RouteErrors } from '../../http/openapi.js';
import { CONSENT_CHOICES, OBJECTION_CHOICES, requestDetails } from '../../privacy/request-details.js';
import { askedLanguage, PAGE_LANGUAGES } from '../../languages/languages.js';
import exportRoutes from './exports.js';
import requestMessageRoutes from './messages.js';
import type { Routes } from '../../http/schema-types.js';

const historySchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      status: { type: 'string' },
      at: { type: 'string' },
      by: { type: 'string' },
      event: { type: 'string' },
      note: { type: 'string' },
    },
  },
} as const;

/** A request as the API shows it (issue 14 item 7: public contract). */
export const requestSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    // `unclassified`: read from the privacy mailbox, its kind not clear from its text (issue 32): the admin classifies it.
    kind: { enum: [...ALL_REQUEST_KINDS] },
    status: { enum: [...REQUEST_STATUSES] },
    subject: {
      type: 'object',
      properties: {
        kind: { type: 'string' },
        accountId: { type: 'string' },
        phone: { type: 'string' },
        email: { type: 'string' },
        erased: { type: 'boolean' },
      },
    },
    filedBy: { type: 'string' },
    verification: { type: ['string', 'null'] },
    details: { type: ['string', 'null'] },
    contact: { type: 'string' },
    // The language its messages are written in (issue 32 item 7): `en`, `sw`; absent: none chosen (English).
    lang: { type: 'string' },
    receivedAt: { type: 'string' },
    dueAt: { type: 'string' },
    extendedDueAt: { type: 'string' },
    extensionReason: { type: 'string' },
    history: historySchema,
    // `url` only in the account's own views: the admin's say when a live link expires, never the link.
    export: { type: 'object', properties: { url: { type: 'string' }, expiresAt: { type: 'string' } } },
    // Every field the signature covers is returned as signed (issue 30 item 8): the receipt verifies
    // with the published JWK set alone (`keyId` and `signature` aside, the canonical JSON of the
    // rest). `additionalProperties`: a field added to receipts later is never dropped by the serializer.
    receipt: {
      type: 'object',
      additionalProperties: true,
      properties: {
        requestId: { type: 'string' },
        subjectHash: { type: 'string' },
        completedAt: { type: 'string' },
        handlers: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: true,
            properties: {
              name: { type: 'string' },
              erased: { type: 'integer' },
              kept: { type: 'integer' },
              keptReason: { type: 'string' },
            },
          },
        },
        keyId: { type: 'string' },
        signature: { type: 'string' },
      },
    },
  },
} as const;

const listSchema = {
  type: 'object',
  properties: { requests: { type: 'array', items: requestSchema }, nextCursor: { type: ['string', 'null'] } },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } } as const;
const E164 = '^\\+[1-9][0-9]{1,14}$';
// The grace period of a deletion: these routes still answer the account's keys (issue 14 item 4).
/** What a rights request's routes can answer besides the common errors (data-rights' codes). */
const REQUEST_ERRORS = {
  400: ['HF_DATA_RIGHTS_INVALID_REQUEST'],
  404: ['HF_DATA_RIGHTS_NOT_FOUND', 'HF_DATA_RIGHTS_SUBJECT_NOT_FOUND'],
  409: ['HF_DATA_RIGHTS_INVALID_TRANSITION', 'HF_DATA_RIGHTS_ALREADY_EXTENDED'],
};
const whilePending = { auth: 'account', pendingDeletion: true, errors: REQUEST_ERRORS } as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route still answers an account whose deletion waits for its purge. */
    pendingDeletion?: boolean;
  }
}

/**
 * The rights of policy §6 (issue 14): an account files requests for itself or for one of its
 * contacts, follows them, cancels them, downloads its export once; it corrects its profile at
 * once. The admin files requests sent by email to privacy@ and answers the queue.
 */
const privacyRoutes: Routes<{ db: Database; session?: { cookieName: string; secure: boolean } }> = async (
  app,
  { db, session },
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
            // Issue 32 item 6: the §2 use an objection is about, the consent a withdrawal withdraws (request-details.ts).
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

  app.patch(
    '/v1/privacy/profile',
    {
      config: { auth: 'account' },
      schema: {
        tags: ['privacy'],
        summary:
          'Correct the profile at once (§6 right to correction); recorded as a fulfilled correction request. An email change goes through the admin.',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          // As at signup: visible text on one line (issue 30 item 6).
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: NAME_PATTERN },
            businessName: { type: ['string', 'null'], maxLength: 200, pattern: NAME_PATTERN },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              account: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  name: { type: 'string' },
                  email: { type: 'string' },
                  businessName: { type: ['string', 'null'] },
                  createdAt: { type: 'string' },
                },
              },
              request: requestSchema,
            },
          },
        },
      } as const,
    },
    async (request) => {
      const changes: { name?: string; businessName?: string | null } = {};
      if (request.body.name !== undefined) changes.name = request.body.name;
      if (request.body.businessName !== undefined) changes.businessName = request.body.businessName;
      const [account] = await db
        .update(accounts)
        .set(changes)
        .where(eq(accounts.id, owner(request)))
        .returning();
      app.authCache.invalidate(owner(request));
      const recorded = await app.dataRights.recordCorrection(owner(request), Object.keys(changes));
      return { account: publicAccount(account!), request: recorded };
    },
  );

  app.get(
    '/.well-known/harakaflow-signing-keys.json',
    {
      config: { auth: 'public', ageGate: false },
      schema: {
        tags: ['privacy'],
        summary: 'The Ed25519 public keys of export manifests and erasure receipts (JWK set)',
        response: {
          200: jsonObject('A JWK set', {
            keys: { type: 'array', items: { type: 'object', additionalProperties: true } },
          }),
        },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(app.dataRights.publicKeys()),
  );

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

export default privacyRoutes;
