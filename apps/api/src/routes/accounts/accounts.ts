import { securityEvent } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyInstance } from 'fastify';
import {
  askForVerification,
  confirmEmail,
  createAccount,
  emailVerified,
  NAME_PATTERN,
  publicAccount,
} from '../../data/accounts.js';
import { markVisitor } from '../../data/analytics.js';
import { EmailAlreadyVerified, EmailCodeInvalid, EmailVerificationTooSoon } from '../../http/errors.js';
import { NoticeNotFound } from '@harakaflow/notify';
import { noticeCache } from '../../privacy/notice-cache.js';
import type { Routes } from '../../http/schema-types.js';

/** Where the verification message tells the person to send the code. */
export const VERIFY_EMAIL_PATH = '/v1/account/email/verify';
const RESEND_PATH = '/v1/account/email/verification';

/** Queues the verification message asked for at `requestedAt` (once per asking, across replicas). */
export async function queueVerification(
  app: Pick<FastifyInstance, 'notify'>,
  accountId: string,
  requestedAt: Date,
): Promise<void> {
  await app.notify.enqueue({
    kind: 'account.email.verification',
    accountId,
    data: { verifyPath: VERIFY_EMAIL_PATH },
    dedupeKey: `account.email.verification:${accountId}:${requestedAt.getTime()}`,
  });
}

const accountSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    email: { type: 'string' },
    emailVerified: {
      type: 'boolean',
      description:
        'the account showed `email` to be its own (a code sent there); until then it receives only the verification message, security notices and policy notices',
    },
    businessName: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

/**
 * A legal notice that did not reach the account by email (issue 34 item 4): a §11 policy notice or
 * a rights request's answer that bounced, or that the recipient reported as abuse. Shown on every
 * `GET /v1/me` until acknowledged (`POST /v1/me/notices/:id/ack`).
 */
const noticeSchema = {
  type: 'object',
  properties: {
    id: {
      type: 'string',
      format: 'uuid',
      description: "the notification's id (acknowledge it with POST /v1/me/notices/:id/ack)",
    },
    kind: { type: 'string', description: '`policy.upcoming` (§11) or `privacy.request.updated` (§6)' },
    subject: { type: 'string', description: "the email's subject" },
    createdAt: { type: 'string', format: 'date-time', description: 'when the email was written' },
    reportedAt: { type: 'string', format: 'date-time', description: 'when it was learnt that it did not arrive' },
    reason: {
      enum: ['bounced', 'complained'],
      description:
        '`bounced`: the mail server refused it or sent it back; `complained`: it was reported as abuse (spam)',
    },
  },
} as const;

/** What /v1/me adds while the address is not verified: how to verify it (issue 30 item 6). */
const VERIFY_HINT = Object.freeze({ verify: `POST ${VERIFY_EMAIL_PATH}`, resend: `POST ${RESEND_PATH}` });

const accounts: Routes<{ db: Database; secureCookies: boolean; codeKey: Buffer; noticesCacheMs: number }> = async (
  app,
  { db, secureCookies, codeKey, noticesCacheMs },
) => {
  const notices = noticeCache(app, noticesCacheMs);

  app.post(
    '/v1/accounts',
    {
      config: {
        auth: 'public',
        ageGate: false,
        quota: { failClosed: true },
        errors: {
          400: ['HF_AGE_GATE_INVALID_DATE'],
          403: ['HF_AGE_GATE_NOT_ELIGIBLE', 'HF_AGE_GATE_BLOCKED'],
          409: ['HF_ACCOUNT_EXISTS'],
          503: ['HF_QUOTA_UNAVAILABLE'],
        },
      },
      schema: {
        tags: ['accounts'],
        summary:
          'Create an account (18+; the date of birth is checked, never stored); the API key is in this response only',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'email', 'dateOfBirth'],
          properties: {
            // Visible text on one line: no control characters, line separators or bidi overrides (issue 30 item 6).
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: NAME_PATTERN },
            email: { type: 'string', format: 'email', maxLength: 254 },
            businessName: { type: 'string', minLength: 1, maxLength: 200, pattern: NAME_PATTERN },
            // The format here; whether the date exists and the age are @harakaflow/age-gate's. Never stored.
            dateOfBirth: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: { account: accountSchema, apiKey: { type: 'string' } },
          },
        },
      } as const,
    },
    async (request, reply) => {
      const { name, email, businessName, dateOfBirth } = request.body;
      // The gate runs before anything is stored: an under-age answer leaves no account, only the block.
      const verification = await app.ageGate.screen(request, reply, dateOfBirth);
      const created = await createAccount(
        db,
        { name: name.trim(), email: email.trim(), businessName: businessName?.trim() },
        (tx, account) => app.ageGate.recordVerification(tx, account.id, verification),
      );
      // The signup belongs to the new account: its audit event carries the account as subject, so
      // the account's erasure reaches it (the IP it signed up from included).
      request.principal = { kind: 'account', id: created.account.id };
      // The address is asked to verify itself: nothing else the account could write goes to it before.
      await queueVerification(app, created.account.id, created.requestedAt);
      return reply.code(201).send({ account: publicAccount(created.account), apiKey: created.apiKey });
    },
  );

  app.get(
    '/v1/me',
    {
      config: { auth: 'account' },
      schema: {
        tags: ['accounts'],
        summary: 'The authenticated account',
        security: [{ bearer: [] }],
        response: {
          200: {
            type: 'object',
            properties: {
              account: accountSchema,
              emailVerification: {
                type: 'object',
                description: 'present while the address is not verified: send the emailed code, or ask for a new one',
                properties: { verify: { type: 'string' }, resend: { type: 'string' } },
              },
              notices: {
                type: 'array',
                description:
                  'legal notices (§11 policy notices, answers to rights requests) whose email did not reach the account, oldest first, until acknowledged; always present, empty when none',
                items: noticeSchema,
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      markVisitor(request, reply, secureCookies);
      const account = publicAccount(request.account!);
      const shown = notices.peek(account.id) ?? (await notices.load(account.id));
      return account.emailVerified
        ? { account, notices: shown }
        : { account, emailVerification: VERIFY_HINT, notices: shown };
    },
  );

  app.post(
    '/v1/me/notices/:id/ack',
    {
      config: { auth: 'account', errors: { 404: ['HF_NOTIFY_NOTICE_NOT_FOUND'] } },
      schema: {
        tags: ['accounts'],
        summary: 'Acknowledge a notice of GET /v1/me: it is no longer shown (again: the same answer)',
        security: [{ bearer: [] }],
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: { type: 'string', format: 'uuid' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'string', format: 'uuid' },
              acknowledgedAt: { type: 'string', format: 'date-time' },
            },
          },
        },
      } as const,
    },
    async (request) => {
      const accountId = request.account!.id;
      const at = await app.notify.acknowledgeNotice(accountId, request.params.id);
      if (!at) throw new NoticeNotFound();
      notices.invalidate(accountId);
      return { id: request.params.id.toLowerCase(), acknowledgedAt: at.toISOString() };
    },
  );

  // Issue 30 item 6: the account's address, verified by a code sent to it. Accounts made before
  // this existed are asked once by email (notices.ts) and on GET /v1/me.
  app.post(
    RESEND_PATH,
    {
      config: {
        auth: 'account',
        errors: { 409: ['HF_EMAIL_ALREADY_VERIFIED'], 429: ['HF_EMAIL_VERIFICATION_TOO_SOON'] },
      },
      schema: {
        tags: ['accounts'],
        summary:
          "Send a new verification code to the account's address (at most once a minute; the previous code stops working)",
        security: [{ bearer: [] }],
        response: {
          202: {
            type: 'object',
            properties: { email: { type: 'string' }, requestedAt: { type: 'string', format: 'date-time' } },
          },
        },
      },
    },
    async (request, reply) => {
      const account = request.account!;
      if (emailVerified(account)) throw new EmailAlreadyVerified();
      const asked = await askForVerification(db, account, new Date());
      if ('retryAfterMs' in asked) {
        reply.header('retry-after', String(Math.ceil(asked.retryAfterMs / 1000)));
        throw new EmailVerificationTooSoon();
      }
      await queueVerification(app, account.id, asked.requestedAt);
      return reply.code(202).send({ email: account.email, requestedAt: asked.requestedAt.toISOString() });
    },
  );

  app.post(
    VERIFY_EMAIL_PATH,
    {
      config: { auth: 'account', errors: { 400: ['HF_EMAIL_CODE_INVALID'], 409: ['HF_EMAIL_ALREADY_VERIFIED'] } },
      schema: {
        tags: ['accounts'],
        summary:
          "Verify the account's address with the code emailed to it (24 hours, 5 tries); the messages that waited for it are sent",
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          required: ['code'],
          additionalProperties: false,
          properties: { code: { type: 'string', minLength: 8, maxLength: 12, pattern: '^[A-Za-z0-9 -]+$' } },
        },
        response: { 200: { type: 'object', properties: { account: accountSchema } } },
      } as const,
    },
    async (request) => {
      const account = request.account!;
      const outcome = await confirmEmail(db, codeKey, account.id, request.body.code, new Date());
      await securityEvent(app, request, {
        action: 'account.email.verify',
        resource: `account:${account.id}`,
        outcome: outcome === 'verified' ? 'success' : 'failure',
      });
      if (outcome === 'already') throw new EmailAlreadyVerified();
      if (outcome === 'invalid') throw new EmailCodeInvalid();
      app.authCache.invalidate(account.id);
      // What waited for a verified address (quota warnings, request updates) goes now.
      await app.notify.releaseWaiting(account.id);
      return { account: { ...publicAccount(account), emailVerified: true } };
    },
  );
};

export default accounts;
