import { KINDS } from '@harakaflow/notify';
import type { Routes } from '../../http/schema-types.js';

const optionalKinds = Object.entries(KINDS)
  .filter(([, spec]) => spec.category === 'optional')
  .map(([kind]) => kind);
const preferencesSchema = {
  type: 'object',
  properties: { preferences: { type: 'object', additionalProperties: { type: 'boolean' } } },
} as const;
const notificationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    accountId: { type: ['string', 'null'] },
    address: { type: ['string', 'null'] },
    status: { enum: ['pending', 'sent', 'failed', 'suppressed'] },
    attempts: { type: 'integer' },
    createdAt: { type: 'string' },
    nextAttemptAt: { type: ['string', 'null'] },
    settledAt: { type: ['string', 'null'] },
    providerMessageId: { type: ['string', 'null'] },
    lastError: { type: ['string', 'null'] },
  },
} as const;

/**
 * Notifications (@harakaflow/notify): an account's choices for optional kinds (security and legal
 * notices are always sent), and the operators' view of the outbox. The one-click unsubscribe
 * routes are the package's own.
 */
const notificationRoutes: Routes = async (app) => {
  app.get(
    '/v1/notifications/preferences',
    {
      config: { auth: 'account' },
      schema: {
        tags: ['notifications'],
        summary: 'Which optional notifications the account receives',
        security: [{ bearer: [] }],
        response: { 200: preferencesSchema },
      },
    },
    async (request) => ({ preferences: await app.notify.preferences(request.account!.id) }),
  );

  // The body's schema is made from the optional kinds at startup: its type is said here.
  app.patch<{ Body: Record<string, boolean> }>(
    '/v1/notifications/preferences',
    {
      config: { auth: 'account' },
      schema: {
        tags: ['notifications'],
        summary: 'Turn optional notifications (quota warnings) on or off',
        security: [{ bearer: [] }],
        body: {
          type: 'object',
          minProperties: 1,
          additionalProperties: false,
          properties: Object.fromEntries(optionalKinds.map((k) => [k, { type: 'boolean' }])),
        },
        response: { 200: preferencesSchema },
      },
    },
    async (request) => {
      const accountId = request.account!.id;
      for (const [kind, enabled] of Object.entries(request.body))
        await app.notify.setPreference(accountId, kind, enabled);
      return { preferences: await app.notify.preferences(accountId) };
    },
  );

  app.get(
    '/v1/admin/notifications',
    {
      // The package checks the cursor itself (a malformed one is its HF_NOTIFY_INVALID_FILTER).
      config: { auth: 'admin', ageGate: false, errors: { 400: ['HF_NOTIFY_INVALID_FILTER'] } },
      schema: {
        tags: ['admin'],
        summary: 'The notification outbox, newest first (keyset pagination)',
        security: [{ bearer: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { enum: ['pending', 'sent', 'failed', 'suppressed'] },
            kind: { enum: Object.keys(KINDS) },
            cursor: { type: 'string', maxLength: 36 },
            limit: { type: 'integer', minimum: 1, maximum: 200 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              notifications: { type: 'array', items: notificationSchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
        },
      } as const,
    },
    async (request) => app.notify.list(request.query),
  );
};

export default notificationRoutes;
