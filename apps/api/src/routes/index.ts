/**
 * Every route module of the app, registered in one wiring step (`routes`, after every plugin, so
 * quota limits, age-gate protection and swagger see them all), in this order and with these options.
 * Wrapped with fastify-plugin: each module stays a direct child of the app, as when each was a step.
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { verificationCodeKey } from '../data/accounts.js';
import { sessionCookieName } from '../data/sessions.js';
import { SUBPROCESSORS } from '../privacy/subprocessors.js';
import { secure, type WiringContext } from '../wiring/context.js';
import { redisUp } from '../wiring/redis.js';
import accountRoutes from './accounts/accounts.js';
import credentialRoutes from './accounts/credentials.js';
import keyRoutes from './accounts/keys.js';
import usageRoutes from './accounts/usage.js';
import adminRoutes from './admin/admin.js';
import retentionRoutes from './admin/retention.js';
import auditRoutes from './audit/audit.js';
import auditKeyRoutes from './audit/keys.js';
import auditStreamRoutes from './audit/streams.js';
import auditWitnessRoutes from './audit/witnesses.js';
import messageRoutes from './messages/messages.js';
import privacyCentre from './privacy/centre.js';
import contactRequestRoutes from './privacy/contact-requests.js';
import notificationRoutes from './privacy/notifications.js';
import privacyRoutes from './privacy/privacy.js';
import publicRequestRoutes from './privacy/public-requests.js';
import subprocessorRoutes from './privacy/subprocessors.js';
import systemRoutes from './system/system.js';
import webhookDeliveryRoutes from './webhooks/deliveries.js';
import webhookRoutes from './webhooks/webhooks.js';

export type RoutesOptions = Omit<WiringContext, 'app'>;

const routes: FastifyPluginAsync<RoutesOptions> = async (app, { config, database, redis }) => {
  const db = database.db;
  const cookieName = sessionCookieName(secure(config));
  const origin = new URL(config.publicUrl).origin;
  const register = config.subprocessors ?? SUBPROCESSORS;
  await app.register(systemRoutes, {
    database,
    secureCookies: secure(config),
    // /health's `quota`: Redis probed; the Postgres store is the database; memory is always up.
    quotaStore: redis ? () => redisUp(redis) : config.databaseUrl ? ('database' as const) : ('memory' as const),
    // The OpenAPI document lists every route: not served in production unless OPENAPI_PUBLIC=1.
    openapi: !secure(config) || config.openapiPublic,
  });
  // GET /v1/me's notices are read at most once per AUTH_CACHE_MS per account and replica, as the key is.
  await app.register(accountRoutes, {
    db,
    secureCookies: secure(config),
    codeKey: verificationCodeKey(config.secrets.dataRightsSubjectKey),
    noticesCacheMs: config.authCacheMs,
  });
  await app.register(keyRoutes, { db });
  await app.register(adminRoutes, { db });
  await app.register(credentialRoutes);
  await app.register(auditRoutes);
  // Issue 33 item 3: the admin registers the witnesses of the signed tree heads.
  await app.register(auditWitnessRoutes);
  await app.register(auditStreamRoutes);
  // The audit log's public keys at /.well-known (issue 33), public.
  await app.register(auditKeyRoutes, { keys: config.auditSigningKeys });
  await app.register(webhookRoutes, { metaAppSecret: config.metaAppSecret, metaVerifyToken: config.metaVerifyToken });
  await app.register(webhookDeliveryRoutes);
  await app.register(messageRoutes, { db });
  await app.register(usageRoutes);
  await app.register(privacyRoutes, { db, session: { cookieName, secure: secure(config) } });
  // The page at /privacy, its no-JavaScript consent form and its sessions.
  await app.register(privacyCentre, {
    db,
    origin,
    cookieName,
    secureCookies: secure(config),
    analyticsDefault: config.consentDefaultAnalytics,
    privacyContact: config.privacyContact,
  });
  // Requests without an account, their code, and the no-JavaScript form at /privacy/request.
  await app.register(publicRequestRoutes, { origin, register });
  // The WhatsApp code of a contact's request, and the forwarded requests accounts answer.
  await app.register(contactRequestRoutes);
  // The processor register (§5, §9), JSON and page.
  await app.register(subprocessorRoutes, { register, noticeDays: config.subprocessorNoticeDays });
  await app.register(notificationRoutes);
  await app.register(retentionRoutes);
};

export default fp(routes, { name: 'routes', fastify: '5.x' });
