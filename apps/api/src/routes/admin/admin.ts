import type { Database } from '@harakaflow/db';
import { accountExists } from '../../data/accounts.js';
import { AccountNotFound } from '../../http/errors.js';
import type { Routes } from '../../http/schema-types.js';

/** Routes for the admin principal (policy §3: access limited to authorized personnel). */
const admin: Routes<{ db: Database }> = async (app, { db }) => {
  app.post(
    '/v1/admin/accounts/:id/minor',
    {
      config: { auth: 'admin', ageGate: false, errors: { 404: ['HF_ACCOUNT_NOT_FOUND'] } },
      schema: {
        tags: ['admin'],
        summary: "Report an account as a minor's: restricted at once, its personal data erased in every package (§8)",
        security: [{ bearer: [] }],
        params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              subjectId: { type: 'string' },
              status: { enum: ['pending', 'running', 'done'] },
              dueAt: { type: 'string' },
              completedAt: { type: ['string', 'null'] },
              counts: { type: ['object', 'null'], additionalProperties: { type: 'integer' } },
            },
          },
        },
      } as const,
    },
    async (request) => {
      const { id } = request.params;
      // A repeated report of an already erased account answers with the erasure record (idempotent).
      const previously = await app.ageGate.status(id);
      if (!previously.restricted && !(await accountExists(db, id))) throw new AccountNotFound();
      return app.ageGate.reportMinor(id, {
        reason: request.body?.reason ?? 'reported by an administrator',
        reportedBy: 'admin',
      });
    },
  );
};

export default admin;
