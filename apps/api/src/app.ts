import { createDatabase, migrate, type DatabaseHandle } from '@harakaflow/db';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DestinationStream } from 'pino';
import { ConfigError, type AppConfig } from './config/config.js';
import { clientErrorHandler, frameworkErrors, jsonDeeperThan, serverTimeouts } from './http/edge.js';
import { JsonTooDeep } from './http/errors.js';
import { AppLogController, lazyChildLogger, loggerOptions, requestIdGenerator } from './http/logger.js';
import { setupMetrics } from './metrics/request-metrics.js';
import { quotaRedis } from './wiring/redis.js';
import { strictValidation } from './http/schema-types.js';
import { trustProxyProblem } from './config/trust-proxy.js';
import { APP_MIGRATIONS, registerWiring } from './wiring/plugins.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's database handle (PGlite or postgres.js). */
    database: DatabaseHandle;
  }
}

export { APP_MIGRATIONS, appMigrations } from './wiring/plugins.js';

export const BODY_LIMIT = 1024 * 1024;

export interface BuildOptions {
  /** A database the caller owns (tests); the app then does not close it. */
  database?: DatabaseHandle;
  /** A ready pino logger (server.ts), or a stream for the app's own logger (tests capture logs). */
  logger?: FastifyBaseLogger;
  logStream?: DestinationStream;
}

/** The reference app: every package wired together. Tests drive it with `inject`. */
export async function buildApp(config: AppConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  // Checked here too, not only by TRUST_PROXY's reader: a config made in code never passed it, and
  // a blanket trust lets every client choose its IP (quotas, bans, the audit log).
  const trustProblem = trustProxyProblem(config.trustProxy);
  if (trustProblem) throw new ConfigError([trustProblem]);
  const newId = requestIdGenerator();
  const timeouts = serverTimeouts({ requestTimeoutMs: config.requestTimeoutMs });
  const logRef: { current?: FastifyBaseLogger } = {};
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) } }),
    trustProxy: config.trustProxy,
    // §3 "encryption of data in transit": TLS in the app itself when both files are configured
    // (checked at startup by loadConfig); otherwise at a proxy listed in TRUST_PROXY.
    ...(config.tls
      ? {
          https: {
            cert: readFileSync(config.tls.certFile),
            key: readFileSync(config.tls.keyFile),
            ...timeouts.serverOptions,
          },
        }
      : { http: timeouts.serverOptions }),
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    connectionTimeout: timeouts.connectionTimeout,
    // Router and HTTP-parser errors in the one shape, with a request id (issue 13 item 1).
    frameworkErrors,
    clientErrorHandler: clientErrorHandler(newId, (obj, msg) => logRef.current?.info(obj, msg)),
    bodyLimit: BODY_LIMIT,
    genReqId: newId,
    childLoggerFactory: lazyChildLogger,
    // Fastify's per-request lines are built only when their level is enabled (logger.ts).
    logController: new AppLogController(),
    // Unknown body properties are refused, not silently dropped; bodies, parameters and headers
    // are not coerced to their declared types, the query string only is (schema-types.ts).
    ajv: { customOptions: { removeAdditional: false } },
    ...strictValidation(),
  }) as unknown as FastifyInstance;

  const database =
    options.database ??
    (await createDatabase({
      url: config.databaseUrl,
      dataDir: config.databaseUrl ? undefined : resolve(config.dataDir, 'pglite'),
      pooler: config.databasePooler,
      // Queries are refused at once (503) while Postgres is unreachable, and flow again at the first probe that
      // answers.
      onAvailability: ({ up, since, codes }) => {
        if (!up)
          return void logRef.current?.warn(
            { err: { codes } },
            'database unavailable: queries answer 503 until it is back',
          );
        logRef.current?.info({ awayMs: Date.now() - since.getTime() }, 'database available again');
        // The audit log's backlog goes now, not when its writer's backoff (up to 5 s) ends.
        if (app.hasDecorator('audit')) app.audit.flush().catch(() => {});
      },
    }));
  logRef.current = app.log;
  // JSON bodies: nesting past MAX_JSON_DEPTH is refused before the parser (or any recursive code
  // after it) sees them (issue 13 item 3); the rest is Fastify's own parser, prototype-poisoning
  // checks included. No text/plain parser: a route that takes JSON answers 415 to anything else.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonDeeperThan(body as string, config.maxJsonDepth))
      return done(new JsonTooDeep(String(config.maxJsonDepth)), undefined);
    void defaultJson(request, body as string, done);
  });
  app.decorate('database', database);
  if (!options.database) app.addHook('onClose', () => database.close());

  try {
    if (config.migrationDatabaseUrl) {
      // The tables' owner migrates; the app itself connects as DATABASE_URL's (least-privilege) role.
      // DATABASE_POOLER applies here too: harmless straight to Postgres, needed if this URL is pooled as well.
      const owner = await createDatabase({ url: config.migrationDatabaseUrl, max: 1, pooler: config.databasePooler });
      try {
        await migrate(owner.db, [...APP_MIGRATIONS]);
      } finally {
        await owner.close();
      }
    } else {
      await migrate(database.db, [...APP_MIGRATIONS]);
    }
  } catch (error) {
    await app.close();
    throw error;
  }

  // METRICS_PORT: core's metrics bound to prom-client before any plugin registers (each makes its
  // metrics then), served on a listener of its own once the app is ready. Unset: not bound, no cost.
  app.decorate('metricsEndpoint', config.metricsPort === undefined ? null : setupMetrics(app, config, database));

  // §2: quotas and bans, before authentication so a banned client costs no database work. Shared
  // through Redis (one server, Sentinel or Cluster: redis.ts) when it is configured, else through
  // Postgres when DATABASE_URL is set, else in memory. Until Redis answers, the in-memory insurance
  // limiter does (logged); startup waits for it 3 s at most.
  const redis = await quotaRedis(app, config).catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  await registerWiring({ app, config, database, redis });

  return app;
}
