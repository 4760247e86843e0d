import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import audit, { auditMigrations } from '@harakaflow/audit';
import consent, { consentMigrations } from '@harakaflow/consent';
import ageGate, { ageGateMigrations } from '@harakaflow/age-gate';
import vault, { vaultMigrations } from '@harakaflow/credential-vault';
import webhooks, { webhooksMigrations } from '@harakaflow/webhooks';
import quota, { DEFAULT_PLANS, quotaMigrations } from '@harakaflow/quota';
import dataRights, { dataRightsMigrations } from '@harakaflow/data-rights';
import notify, { notifyMigrations } from '@harakaflow/notify';
import retention, { retentionMigrations } from '@harakaflow/retention';
import { createHmac, randomUUID } from 'node:crypto';
import { accounts, notifications } from './schema.js';
import { eq } from 'drizzle-orm';
import { registerPersonalDataHandler, registerRetentionClass } from '@harakaflow/core';
import { createDatabase, migrate, type DatabaseHandle, type MigrationSet } from '@harakaflow/db';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import { accountExists, appPersonalData, messageLogPersonalData } from './accounts.js';
import { bridgeLegacyNotifications, notificationRecipient, policyRecipients, requestNotice } from './notices.js';
import { appRetentionClasses } from './retention.js';
import { ANALYTICS_COOKIE } from './analytics.js';
import { splitSecrets, type AppConfig } from './config.js';
import { documentErrors } from './openapi.js';
import { clientErrorHandler, frameworkErrors, jsonDeeperThan, serverTimeouts } from './edge.js';
import { JsonTooDeep } from './errors.js';
import { lazyChildLogger, loggerOptions, requestIdGenerator } from './logger.js';
import auth from './plugins/auth.js';
import errorShape from './plugins/error-shape.js';
import inputGuard from './plugins/input-guard.js';
import securityHeaders from './plugins/security-headers.js';
import { GPC_LAST_UPDATE, POLICY_VERSIONS } from './policy-versions.js';
import accountRoutes from './routes/accounts.js';
import systemRoutes from './routes/system.js';
import adminRoutes from './routes/admin.js';
import credentialRoutes from './routes/credentials.js';
import auditRoutes from './routes/audit.js';
import messageRoutes from './routes/messages.js';
import usageRoutes from './routes/usage.js';
import webhookRoutes, { WEBHOOK_EVENT_TYPES } from './routes/webhooks.js';
import privacyRoutes from './routes/privacy.js';
import privacyCentre from './routes/privacy-centre.js';
import { revokeAccountSessions, sessionCookieName } from './sessions.js';
import notificationRoutes from './routes/notifications.js';
import retentionRoutes from './routes/retention.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's database handle (PGlite or postgres.js). */
    database: DatabaseHandle;
  }
}

/** The app's own migrations (schema `app`). */
export const appMigrations: MigrationSet = {
  name: 'app',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

/** Every migration set the app applies, in order. */
export const APP_MIGRATIONS: readonly MigrationSet[] = [
  appMigrations,
  auditMigrations,
  consentMigrations,
  ageGateMigrations,
  vaultMigrations,
  webhooksMigrations,
  quotaMigrations,
  dataRightsMigrations,
  notifyMigrations,
  retentionMigrations,
];

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
      ? { https: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile), ...timeouts.serverOptions } }
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
    // Unknown body properties are refused, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
  }) as unknown as FastifyInstance;

  const database =
    options.database ??
    (await createDatabase({
      url: config.databaseUrl,
      dataDir: config.databaseUrl ? undefined : resolve(config.dataDir, 'pglite'),
    }));
  logRef.current = app.log;
  // JSON bodies: nesting past MAX_JSON_DEPTH is refused before the parser (or any recursive code
  // after it) sees them (issue 13 item 3); the rest is Fastify's own parser, prototype-poisoning
  // checks included. No text/plain parser: a route that takes JSON answers 415 to anything else.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonDeeperThan(body as string, config.maxJsonDepth)) return done(new JsonTooDeep(String(config.maxJsonDepth)), undefined);
    void defaultJson(request, body as string, done);
  });
  app.decorate('database', database);
  if (!options.database) app.addHook('onClose', () => database.close());

  try {
    if (config.migrationDatabaseUrl) {
      // The tables' owner migrates; the app itself connects as DATABASE_URL's (least-privilege) role.
      const owner = await createDatabase({ url: config.migrationDatabaseUrl, max: 1 });
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

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'HarakaFlow API',
        version: '0.1.0',
        description: 'The reference API of the HarakaFlow Privacy Kit. Errors: { statusCode, code, error, message }.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an account API key (hf_live_...) or the admin key' },
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(config.env === 'production'), description: 'the privacy centre session; state-changing requests also need x-csrf-token' },
        },
      },
    },
  });
  // Every operation's error responses and authentication, from each route's config (openapi.ts).
  documentErrors(app);
  await app.register(errorShape);
  await app.register(securityHeaders, { production: config.env === 'production' });
  await app.register(inputGuard);
  // §2: quotas and bans, before authentication so a banned client costs no database work. Shared
  // through Redis when REDIS_URL is set, else through Postgres when DATABASE_URL is, else in memory.
  // ioredis is loaded only when REDIS_URL asks for it (about 10 MB of RSS otherwise carried for nothing).
  const redis = config.redisUrl ? new (await import('ioredis')).Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true }) : undefined;
  if (redis) {
    redis.on('error', () => {}); // reported by the quota plugin's fallback log, not as an unhandled event
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
    // Until Redis answers, the in-memory insurance limiter does (logged); startup does not wait forever.
    await redis.connect().catch(() => app.log.warn('quota: Redis is not reachable at startup; limits are per instance until it is'));
  }
  await app.register(quota, {
    store: redis ? 'redis' : config.databaseUrl ? 'postgres' : 'memory',
    db: database.db,
    redis,
    plans: {
      ...DEFAULT_PLANS,
      free: { requestsPerMinute: config.quotaFreeRpm, messagesPerDay: config.quotaFreeMessagesPerDay },
    },
    anonymous: { requestsPerMinute: config.quotaAnonRpm },
    bans: { after: config.quotaBanAfter, windowSeconds: 600 },
    authFailures: { perMinute: config.quotaAuthFailuresPerMinute },
    keyPrefix: config.quotaKeyPrefix,
    // Client IPs are stored only as a keyed hash, so the store names no IP (§6 erasure; see README).
    clientKeys: { secret: createHmac('sha256', config.secrets.dataRightsSubjectKey).update('harakaflow quota client keys').digest(), legacy: config.quotaLegacyClientKeys },
    accountKeys: { legacy: config.quotaLegacyAccountKeys },
    onWarning: async (accountId, info) => {
      const payload = { quota: info.quota, threshold: info.threshold, used: info.used, limit: info.limit, resetAt: info.resetAt.toISOString() };
      // The "rate limit warning" notification of policy §2: an email (an optional kind), and the account's webhooks.
      await app.notify.enqueue({ kind: 'quota.warning', accountId, data: { ...payload, percent: Math.round(info.threshold * 100) } });
      await app.webhooks.emit(accountId, 'quota.warning', payload);
    },
  });
  await app.register(auth, {
    db: database.db,
    adminApiKey: config.secrets.adminApiKey,
    session: { cookieName: sessionCookieName(config.env === 'production'), origin: new URL(config.publicUrl).origin },
    cacheMs: config.authCacheMs,
    guard: { gate: (request, reply) => app.quota.authGate(request, reply), failed: (request) => app.quota.authFailed(request), clear: (request) => app.quota.authClear(request) },
  });
  // §1, §3, §4: every request and every security action, durable and tamper-evident. Registered
  // before the other packages so their security events reach it (core.securityEvent).
  await app.register(audit, {
    db: database.db,
    checkpointKeys: splitSecrets(config.secrets.auditCheckpointKeys),
    ipMode: config.auditIpMode,
    ipHashKey: config.auditIpHashKey,
    spillDir: resolve(config.auditSpillDir),
    spillMaxBytes: config.auditSpillMaxMb * 1024 * 1024,
    chainVersion: config.auditChainVersion,
    spillFull: config.auditSpillFull,
    // §4 "server logs up to 90 days": the audit plugin registers the server_logs retention class.
    retentionDays: config.retentionServerLogDays,
  });
  await app.register(cookie);
  // After every plugin that may set cookies in a hook of its own (see the consent README).
  await app.register(consent, {
    secrets: splitSecrets(config.secrets.consentSecrets),
    db: database.db,
    policies: config.policyVersions ?? POLICY_VERSIONS,
    cookies: { [ANALYTICS_COOKIE]: 'analytics', hf_age_block: 'essential', [sessionCookieName(config.env === 'production')]: 'essential' },
    defaultAnalytics: config.consentDefaultAnalytics,
    secure: config.env === 'production',
    routePrefix: '/v1/consent',
    routeConfig: { auth: 'public', ageGate: false },
    gpcWellKnown: { lastUpdate: GPC_LAST_UPDATE },
  });
  // §8: every /v1 route needs a verified adult, except those that say ageGate: false (signup, ping, consent).
  await app.register(ageGate, {
    db: database.db,
    secrets: splitSecrets(config.secrets.ageGateSecrets),
    secure: config.env === 'production',
    protectPrefixes: ['/v1'],
    eraseAfterMs: config.minorErasureDelayMs,
    // A minor's erasure runs through the same job as every deletion (data rights, registered below).
    erasure: {
      schedule: (subjectId, job) => app.dataRights.scheduleErasure(subjectId, job),
      state: (subjectId) => app.dataRights.erasureState(subjectId),
    },
  });
  // §3: WhatsApp session credentials and other secrets, envelope-encrypted.
  await app.register(vault, { db: database.db, keys: config.secrets.vaultKeys });
  // §3: signed deliveries to customers' endpoints (secrets in the vault), verified inbound webhooks.
  await app.register(webhooks, {
    db: database.db,
    eventTypes: WEBHOOK_EVENT_TYPES,
    allowPrivateDestinations: config.webhooksAllowPrivateDestinations,
    allowHttp: config.webhooksAllowHttp,
  });
  // §2, §6, §11: messages to people, sent once across replicas (SMTP_URL), else written as .eml
  // files under DATA_DIR/outbox. Registered before data-rights, whose updates it sends.
  await app.register(notify, {
    db: database.db,
    smtpUrl: config.smtpUrl,
    outboxDir: join(config.dataDir, 'outbox'),
    from: config.notifyFrom,
    dkim: config.notifyDkim ? { keySelector: config.notifyDkim.selector, privateKey: config.notifyDkim.key } : undefined,
    publicUrl: config.publicUrl,
    unsubscribeSecrets: splitSecrets(config.secrets.notifyUnsubscribeSecrets),
    recipientOf: (accountId) => notificationRecipient(database.db, accountId),
    // An export's link is read when the message is sent, never kept in the outbox.
    enrich: async ({ kind, data }) => {
      if (kind !== 'privacy.request.updated' || data.status !== 'fulfilled' || typeof data.requestId !== 'string') return null;
      const found = await app.dataRights.get(data.requestId).catch(() => null);
      return found?.export ? { exportUrl: `${config.publicUrl}${found.export.url}`, exportExpiresAt: found.export.expiresAt } : null;
    },
    policies: { versions: config.policyVersions ?? POLICY_VERSIONS, recipients: (after) => policyRecipients(database.db, after), policyUrl: `${config.publicUrl}/privacy` },
    routes: { config: { auth: 'public', ageGate: false, audit: { path: 'route' }, quota: { failClosed: true } } },
    // The retention runner purges settled notifications (class `notifications`).
    keepSettledDays: false,
  });
  bridgeLegacyNotifications(app, database.db);
  registerPersonalDataHandler(app, appPersonalData(database.db));
  registerPersonalDataHandler(app, messageLogPersonalData(database.db));
  // §6: the rights, composed from every handler registered above. Exports' data keys live in the
  // vault, in the package's own namespace.
  const exportPlace = (name: string) => ({ namespace: 'data-rights', accountId: 'data-rights', sessionId: 'exports', name });
  await app.register(dataRights, {
    db: database.db,
    signingKeys: config.secrets.dataRightsSigningKeys,
    subjectKey: config.secrets.dataRightsSubjectKey,
    keyStore: {
      put: async (name, value) => void (await app.vault.put(exportPlace(name), value)),
      get: async (name) => (await app.vault.get(exportPlace(name)))?.value ?? null,
      delete: async (name) => void (await app.vault.delete(exportPlace(name))),
    },
    accountExists: (id) => accountExists(database.db, id),
    dueDays: config.dataRightsDueDays,
    purgeAfterDays: config.dataRightsPurgeAfterDays,
    exportTtlHours: config.dataRightsExportTtlHours,
    onPendingDeletion: async (accountId, pending) => {
      await database.db.update(accounts).set({ deletionPendingAt: pending ? new Date() : null }).where(eq(accounts.id, accountId));
      // Requesting deletion signs the person out of the privacy centre everywhere.
      if (pending) await revokeAccountSessions(database.db, accountId);
      app.authCache.invalidate(accountId);
      await app.webhooks.pauseAccount(accountId, pending);
    },
    onUpdate: async (request, accountId) => {
      // A request's outcome may change what the account's key may do (erased, restored): forget it here.
      app.authCache.invalidate(accountId);
      const payload = { requestId: request.id, kind: request.kind, status: request.status, dueAt: request.extendedDueAt ?? request.dueAt };
      // The requester's own account is told of every change (issue 14 item 6), unless it is gone:
      // by email (§6) and webhook.
      if (!(await accountExists(database.db, accountId))) return;
      const notice = requestNotice(request);
      if (notice) await app.notify.enqueue({ ...notice, accountId });
      await app.webhooks.emit(accountId, 'privacy.request.updated', payload);
    },
    withdrawConsent: (accountId) => app.consentLedger.withdrawSubject(accountId),
    onAlert: async ({ action, request }) => {
      // An operator notification: no account.
      await database.db.insert(notifications).values({ id: randomUUID(), accountId: null, kind: action, payload: { requestId: request.id, kind: request.kind, dueAt: request.extendedDueAt ?? request.dueAt } });
    },
  });

  // §4: the retention classes (each package registered its own above; the app's below), run by one
  // replica at a time every RETENTION_INTERVAL_MINUTES, and on demand (hf-retention run).
  await app.register(retention, { db: database.db, intervalMinutes: config.retentionIntervalMinutes, batchSize: config.retentionBatchSize, pauseMs: config.retentionBatchPauseMs });
  for (const spec of appRetentionClasses(database.db, config)) registerRetentionClass(app, spec);

  const secureCookies = config.env === 'production';
  await app.register(systemRoutes, { database, secureCookies });
  await app.register(accountRoutes, { db: database.db, secureCookies });
  await app.register(adminRoutes, { db: database.db });
  await app.register(credentialRoutes);
  await app.register(auditRoutes);
  await app.register(webhookRoutes, { metaAppSecret: config.metaAppSecret, metaVerifyToken: config.metaVerifyToken });
  await app.register(messageRoutes, { db: database.db });
  await app.register(usageRoutes);
  await app.register(privacyRoutes, { db: database.db, session: { cookieName: sessionCookieName(secureCookies), secure: secureCookies } });
  // The privacy centre: the page at /privacy, its no-JavaScript consent form and its sessions.
  await app.register(privacyCentre, { db: database.db, origin: new URL(config.publicUrl).origin, cookieName: sessionCookieName(secureCookies), secureCookies, analyticsDefault: config.consentDefaultAnalytics });
  await app.register(notificationRoutes);
  await app.register(retentionRoutes);

  return app;
}
