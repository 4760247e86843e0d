import type { Database } from '@harakaflow/db';
import { createAccount, publicAccount } from '../accounts.js';
import { markVisitor } from '../analytics.js';
import type { Routes } from '../schema-types.js';

const accountSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    email: { type: 'string' },
    businessName: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;


const accounts: Routes<{ db: Database; secureCookies: boolean }> = async (app, { db, secureCookies }) => {
  app.post(
    '/v1/accounts',
    {
      config: { auth: 'public', ageGate: false, quota: { failClosed: true }, errors: { 400: ['HF_AGE_GATE_INVALID_DATE'], 403: ['HF_AGE_GATE_NOT_ELIGIBLE', 'HF_AGE_GATE_BLOCKED'], 409: ['HF_ACCOUNT_EXISTS'], 503: ['HF_QUOTA_UNAVAILABLE'] } },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account (18+; the date of birth is checked, never stored); the API key is in this response only',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'email', 'dateOfBirth'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
            email: { type: 'string', format: 'email', maxLength: 254 },
            businessName: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
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
      const created = await createAccount(db, { name: name.trim(), email: email.trim(), businessName: businessName?.trim() }, (tx, account) =>
        app.ageGate.recordVerification(tx, account.id, verification),
      );
      // The signup belongs to the new account: its audit event carries the account as subject, so
      // the account's erasure reaches it (the IP it signed up from included).
      request.principal = { kind: 'account', id: created.account.id };
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
        response: { 200: { type: 'object', properties: { account: accountSchema } } },
      },
    },
    async (request, reply) => {
      markVisitor(request, reply, secureCookies);
      return { account: publicAccount(request.account!) };
    },
  );
};

export default accounts;
