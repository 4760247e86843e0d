import type { DatabaseHandle } from '@harakaflow/db';
import type { FastifyPluginAsync } from 'fastify';

/** Health, the benchmark route and the OpenAPI document. */
const system: FastifyPluginAsync<{ database: DatabaseHandle }> = async (app, { database }) => {
  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Liveness and database reachability',
        response: {
          200: { type: 'object', properties: { status: { const: 'ok' } } },
          503: { type: 'object', properties: { status: { const: 'unavailable' } } },
        },
      },
    },
    async (_request, reply) => {
      if (await database.ping(1000)) return { status: 'ok' };
      return reply.code(503).send({ status: 'unavailable' });
    },
  );

  app.get(
    '/v1/ping',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Answers {ok:true}, anonymous or authenticated (the benchmark route)',
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } },
      },
    },
    async () => ({ ok: true }),
  );

  app.get('/docs/json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
};

export default system;
