// The account's profile corrected at once (policy §6 right to correction), recorded as a fulfilled correction request.
import type { Database } from '@harakaflow/db';
import { eq } from 'drizzle-orm';
import { NAME_PATTERN, publicAccount } from '../../data/accounts.js';
import { accounts } from '../../data/schema.js';
import type { Routes } from '../../http/schema-types.js';
import { requestSchema } from './request-schemas.js';

const profileRoutes: Routes<{ db: Database }> = async (app, { db }) => {
  const owner = (request: { account?: { id: string } | null | undefined }) => request.account!.id;

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
};

export default profileRoutes;
