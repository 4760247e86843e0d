import type { FastifyPluginAsync } from 'fastify';

const limitSchema = {
  type: 'object',
  properties: {
    limit: { type: 'integer' },
    used: { type: 'integer' },
    remaining: { type: 'integer' },
    resetAt: { type: ['string', 'null'] },
  },
} as const;

/** GET /v1/usage: the account's plan, today's usage and where it stands against its limits (policy §2). */
const usageRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/v1/usage',
    {
      config: { auth: 'account' },
      schema: {
        tags: ['usage'],
        summary: "Today's usage and the plan's limits",
        security: [{ bearer: [] }],
        response: {
          200: {
            type: 'object',
            properties: {
              plan: { type: 'string' },
              period: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } },
              requests: { type: 'object', properties: { today: { type: 'integer' }, perMinute: limitSchema } },
              messages: { type: 'object', properties: { today: { type: 'integer' }, perDay: limitSchema } },
            },
          },
        },
      },
    },
    async (request) => {
      const account = request.account!;
      const day = new Date().toISOString().slice(0, 10);
      const used = await app.quota.usage(account.id, { from: day, to: day });
      const { limits } = await app.quota.status(account.id, account.plan);
      const view = (name: string) => {
        const l = limits.find((x) => x.name === name)!;
        return {
          limit: l.limit,
          used: l.used,
          remaining: Math.max(0, l.limit - l.used),
          resetAt: l.resetAt?.toISOString() ?? null,
        };
      };
      return {
        plan: account.plan,
        period: { from: `${day}T00:00:00.000Z`, to: `${day}T23:59:59.999Z` },
        requests: { today: used.requests ?? 0, perMinute: view(`${account.plan}.minute`) },
        messages: { today: used.messages ?? 0, perDay: view(`${account.plan}.messages`) },
      };
    },
  );
};

export default usageRoutes;
