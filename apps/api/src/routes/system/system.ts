import type { DatabaseHandle } from '@harakaflow/db';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import { markVisitor } from '../../data/analytics.js';

/**
 * `quotaStore`: how /health tells whether the quota store answers: a probe (Redis), 'database' (the
 * Postgres store is the database) or 'memory' (in the process: always up).
 */
type QuotaStoreHealth = (() => Promise<boolean>) | 'database' | 'memory';

/**
 * Health, the benchmark route and the OpenAPI document. `openapi: false` (production without
 * OPENAPI_PUBLIC=1, issue 30 item 12): no /docs/json, which lists every route, the admin ones too.
 */
const system: FastifyPluginAsync<{
  database: DatabaseHandle;
  secureCookies: boolean;
  quotaStore?: QuotaStoreHealth;
  openapi?: boolean;
}> = async (app, { database, secureCookies, quotaStore = 'memory', openapi = true }) => {
  const auditHealth = {
    type: 'object',
    properties: { backlog: { type: 'integer' }, spilledBytes: { type: 'integer' }, dropped: { type: 'integer' } },
  } as const;
  const notifyHealth = {
    type: 'object',
    properties: { pending: { type: 'integer' }, failed: { type: 'integer' }, bouncing: { type: 'integer' } },
  } as const;
  const healthBody = {
    type: 'object',
    properties: {
      status: { enum: ['ok', 'degraded', 'unavailable'] },
      database: { enum: ['up', 'down'] },
      quota: { enum: ['up', 'down'] },
      audit: auditHealth,
      notifications: notifyHealth,
    },
  } as const;
  // The outbox's counts, read at most every 5 s: load balancers call /health often.
  let counted:
    { at: number; value: Promise<{ pending: number; failed: number; bouncing: number } | undefined> } | undefined;
  const notificationCounts = () => {
    if (!counted || Date.now() - counted.at > 5000)
      counted = { at: Date.now(), value: app.notify.counts().catch(() => undefined) };
    return counted.value;
  };
  // Skipped by the audit log and by quotas (their default skip lists), public, and cheap.
  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Database and quota store reachability, the audit backlog and the notification outbox',
        response: { 200: healthBody, 503: healthBody },
      },
    },
    async (_request, reply) => {
      const [up, quotaUp] = await Promise.all([
        database.ping(1000),
        typeof quotaStore === 'function' ? quotaStore() : undefined,
      ]);
      const quota = quotaStore === 'memory' || (quotaStore === 'database' ? up : quotaUp) ? 'up' : 'down';
      const { backlog, spilledBytes, dropped } = app.audit.health();
      // Degraded: events wait on disk or were dropped, or the quota store is away (each replica then
      // limits on its own), the database answering or not.
      const status = !up ? 'unavailable' : spilledBytes > 0 || dropped > 0 || quota === 'down' ? 'degraded' : 'ok';
      const notifications = up ? await notificationCounts() : undefined;
      return reply.code(up ? 200 : 503).send({
        status,
        database: up ? 'up' : 'down',
        quota,
        audit: { backlog, spilledBytes, dropped },
        ...(notifications ? { notifications } : {}),
      });
    },
  );
  // Liveness: the process can serve (a restart would not help a database outage).
  app.get(
    '/health/live',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['system'],
        summary: 'The process can serve',
        response: { 200: { type: 'object', properties: { status: { const: 'ok' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );
  // Readiness: send traffic here only while the database answers.
  app.get(
    '/health/ready',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Ready while the database answers',
        response: { 200: healthBody, 503: healthBody },
      },
    },
    async (_request, reply) => {
      const up = await database.ping(1000);
      return reply.code(up ? 200 : 503).send({ status: up ? 'ok' : 'unavailable', database: up ? 'up' : 'down' });
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

  if (openapi) await app.register(docs);
};

/**
 * The reference a person reads (issue 31 item 1): Swagger UI at /docs, its assets served from
 * this server by @fastify/swagger-ui (no CDN; no call to validator.swagger.io), the document itself
 * at /docs/json (and /docs/yaml). Every one of its routes is public and hidden from the document.
 * The page's CSP lets it load its own scripts and styles and fetch the document, nothing else;
 * inline styles are allowed because Swagger UI applies some (Chromium refuses them otherwise:
 * test/docs-ui.browser.test.ts), scripts stay 'self' only.
 */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const docs: FastifyPluginAsync = async (scope) => {
  scope.addHook('onRoute', (route) => {
    route.config = { auth: 'public', ageGate: false, ...route.config };
  });
  await scope.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: DOCS_CSP,
    uiConfig: { validatorUrl: null, deepLinking: true },
    theme: { title: 'HarakaFlow API' },
  });
};

export default system;
