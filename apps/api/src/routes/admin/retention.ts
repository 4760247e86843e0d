import type { Routes } from '../../http/schema-types.js';

const holdSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    subjectId: { type: ['string', 'null'] },
    class: { type: ['string', 'null'] },
    reason: { type: 'string' },
    until: { type: ['string', 'null'] },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

/** §4 for operators: the retention classes and their state, and legal holds. */
const retentionRoutes: Routes = async (app) => {
  app.get(
    '/v1/admin/retention',
    {
      config: { auth: 'admin', ageGate: false },
      schema: {
        tags: ['admin'],
        summary:
          'Retention classes (policy §4): clause, period, the oldest row each still holds; active holds; the last run',
        security: [{ bearer: [] }],
        response: {
          200: {
            type: 'object',
            properties: {
              classes: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    clause: { type: 'string' },
                    periodDays: { type: ['integer', 'null'] },
                    perPlanDays: { type: 'object', additionalProperties: { type: 'integer' } },
                    oldest: { type: ['string', 'null'] },
                  },
                },
              },
              holds: { type: 'array', items: holdSchema },
              lastRun: {
                type: ['object', 'null'],
                properties: {
                  id: { type: 'string' },
                  startedAt: { type: 'string' },
                  finishedAt: { type: ['string', 'null'] },
                  status: { type: 'string' },
                },
              },
            },
          },
        },
      },
    },
    async () => app.retention.status(),
  );

  app.post(
    '/v1/admin/retention/holds',
    {
      config: {
        auth: 'admin',
        ageGate: false,
        errors: { 400: ['HF_RETENTION_INVALID_HOLD', 'HF_RETENTION_UNKNOWN_CLASS'] },
      },
      schema: {
        tags: ['admin'],
        summary: 'Place a legal hold on a subject (an account) or a class: matching rows are kept past their period',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: {
            subjectId: { type: 'string', minLength: 1, maxLength: 100 },
            subject: {
              type: 'object',
              required: ['kind', 'accountId'],
              additionalProperties: false,
              properties: {
                kind: { enum: ['account', 'contact'] },
                accountId: { type: 'string', minLength: 1, maxLength: 100 },
                phone: { type: 'string' },
              },
            },
            class: { type: 'string', minLength: 1, maxLength: 63 },
            reason: { type: 'string', minLength: 1, maxLength: 500 },
            until: { type: 'string', format: 'date-time' },
          },
        },
        response: { 201: holdSchema },
      } as const,
    },
    async (request, reply) => {
      const { subjectId, subject, class: className, reason, until } = request.body;
      // A subject as data rights defines it: its account's rows are held.
      const hold = await app.retention.holds.place(
        { subjectId: subjectId ?? subject?.accountId, class: className, reason, until },
        'admin',
      );
      return reply.code(201).send(hold);
    },
  );

  app.delete(
    '/v1/admin/retention/holds/:id',
    {
      config: { auth: 'admin', ageGate: false, errors: { 404: ['HF_RETENTION_HOLD_NOT_FOUND'] } },
      schema: {
        tags: ['admin'],
        summary: 'Release a legal hold',
        security: [{ bearer: [] }],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 36 } } },
        response: { 200: holdSchema },
      } as const,
    },
    async (request) => app.retention.holds.release(request.params.id, 'admin'),
  );
};

export default retentionRoutes;
