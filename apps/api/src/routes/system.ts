import type { DatabaseHandle } from '@harakaflow/db';
import type { FastifyPluginAsync } from 'fastify';
import { markVisitor } from '../analytics.js';

/** Health, the benchmark route and the OpenAPI document. */
const system: FastifyPluginAsync<{ database: DatabaseHandle; secureCookies: boolean }> = async (app, { database, secureCookies }) => {
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
      config: { auth: 'public', ageGate: false },
      schema: {
        tags: ['system'],
        summary: 'Answers {ok:true}, anonymous or authenticated (the benchmark route)',
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } },
      },
    },
    async (request, reply) => {
      markVisitor(request, reply, secureCookies);
      return { ok: true };
    },
  );

  app.get('/docs/json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
};

export default system;
