/**
 * The app's wiring as data (issue 19 item 4): every plugin of the reference app, in the order it
 * is registered, with its options (from the config), its migrations and why it sits where it
 * does. The migration list (APP_MIGRATIONS) and the registration order both come from this one
 * table; a callback that reaches a plugin registered later says so in `late`, and buildApp checks
 * at boot that each of those is there.
 */
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import ageGate, { ageGateMigrations } from '@harakaflow/age-gate';
import audit, { auditMigrations } from '@harakaflow/audit';
import consent, { consentMigrations } from '@harakaflow/consent';
import { errorCodes, registerPersonalDataHandler, registerRetentionClass, retentionClasses } from '@harakaflow/core';
import vault, { vaultMigrations } from '@harakaflow/credential-vault';
import dataRights, { dataRightsMigrations } from '@harakaflow/data-rights';
import type { DatabaseHandle, MigrationSet } from '@harakaflow/db';
import notify, { notifyMigrations } from '@harakaflow/notify';
import quota, { DEFAULT_PLANS, quotaMigrations } from '@harakaflow/quota';
import retention, { retentionMigrations } from '@harakaflow/retention';
import webhooks, { webhooksMigrations } from '@harakaflow/webhooks';
import { eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback, FastifyPluginOptions } from 'fastify';
import { createHmac, randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  accountByVerifiedEmail,
  accountExists,
  appPersonalData,
  issueVerificationCode,
  messageLogPersonalData,
  planOfAccount,
  verificationCodeKey,
} from '../data/accounts.js';
import { ANALYTICS_COOKIE } from '../data/analytics.js';
import { splitSecrets, type AppConfig } from '../config/config.js';
import {
  addressVerified,
  askExistingAccountsToVerify,
  bridgeLegacyNotifications,
  endpointDisabledNotice,
  notificationRecipient,
  policyRecipients,
  requestNotice,
  requesterNotice,
} from '../privacy/notices.js';
import { documentErrors } from '../http/openapi.js';
import auth from '../http/auth.js';
import errorShape from '../http/error-shape.js';
import inputGuard from '../http/input-guard.js';
import securityHeaders from '../http/security-headers.js';
import { GPC_LAST_UPDATE, POLICY_VERSIONS } from './policy-versions.js';
import { redisUp, type QuotaRedis } from './redis.js';
import { appRetentionClasses } from './retention-classes.js';
import rightsIntake, { requestCodeData } from '../privacy/rights-intake.js';
import bounceIntake from '../privacy/bounce-intake.js';
import { contactRequestsPlugin, proofCodeKey } from '../privacy/contact-requests.js';
import { utcMinute } from '../data/dates.js';
import contactRequestRoutes from '../routes/privacy/contact-requests.js';
import accountRoutes from '../routes/accounts/accounts.js';
import keyRoutes from '../routes/accounts/keys.js';
import adminRoutes from '../routes/admin/admin.js';
import auditRoutes from '../routes/audit/audit.js';
import auditWitnessRoutes from '../routes/audit/witnesses.js';
import { WITNESS_EVENT, witnessPublisher } from '../audit/witnesses.js';
import auditStreamRoutes from '../routes/audit/streams.js';
import { auditStreamsPlugin } from '../audit/streams.js';
import auditKeyRoutes from '../routes/audit/keys.js';
import credentialRoutes from '../routes/accounts/credentials.js';
import messageRoutes from '../routes/messages/messages.js';
import notificationRoutes from '../routes/privacy/notifications.js';
import privacyCentre from '../routes/privacy/centre.js';
import privacyRoutes from '../routes/privacy/privacy.js';
import subprocessorRoutes from '../routes/privacy/subprocessors.js';
import { article15Builder } from '../privacy/article15.js';
import { registerAnnouncements, SUBPROCESSORS } from '../privacy/subprocessors.js';
import publicRequestRoutes from '../routes/privacy/public-requests.js';
import retentionRoutes from '../routes/admin/retention.js';
import systemRoutes from '../routes/system/system.js';
import usageRoutes from '../routes/accounts/usage.js';
import webhookDeliveryRoutes from '../routes/webhooks/deliveries.js';
import webhookRoutes, { WEBHOOK_EVENT_TYPES } from '../routes/webhooks/webhooks.js';
import { accounts, notifications } from '../data/schema.js';
import { revokeAccountSessions, sessionCookieName } from '../data/sessions.js';
import { LANGUAGE_COOKIE } from '../languages/languages.js';

/** What a step's options are made from. */
export interface WiringContext {
  app: FastifyInstance;
  config: AppConfig;
  database: DatabaseHandle;
  /** The quota store's Redis client (one server, Sentinel or Cluster), when Redis is configured (connected by buildApp). */
  redis: QuotaRedis | undefined;
}

export interface WiringStep {
  /** The plugin's name, as the README's wiring table and the boot log say it. */
  name: string;
  // The options are the plugin's own; a step's `options` is checked against them by `step()`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugin: FastifyPluginAsync<any> | FastifyPluginCallback<any>;
  options?: (w: WiringContext) => object;
  /** The package's tables, applied in table order (after the app's own). */
  migrations?: MigrationSet;
  /** Why the plugin sits here and not elsewhere. */
  why: string;
  /** Decorators of plugins registered later that this step's callbacks use at run time: checked at boot. */
  late?: readonly string[];
  /** Run right after the plugin is registered (handlers and classes the app adds beside it). */
  then?: (w: WiringContext) => void;
}

/**
 * A step, its options typed by its plugin's: `step(plugin)({ ... })`. (Two calls: the plugin fixes
 * the options' type first, so the options' object literal is checked against it as written.)
 */
function step<O extends FastifyPluginOptions>(plugin: FastifyPluginAsync<O> | FastifyPluginCallback<O>) {
  return (s: Omit<WiringStep, 'plugin' | 'options'> & { options?: (w: WiringContext) => O }): WiringStep =>
    ({ ...s, plugin }) as WiringStep;
}

/** The app's own migrations (schema `app`). */
export const appMigrations: MigrationSet = {
  name: 'app',
  folder: fileURLToPath(new URL('../../drizzle', import.meta.url)),
};

const secure = (config: AppConfig) => config.env === 'production';
/** Where the keys that verify receipts are published (in the messages that carry a receipt). */
const keysUrl = (config: AppConfig) => `${config.publicUrl}/.well-known/harakaflow-signing-keys.json`;
/** §8: every route under these needs a verified adult, unless its config says `ageGate: false`. */
const AGE_GATE_PREFIXES = ['/v1'];
const exportPlace = (name: string) => ({
  namespace: 'data-rights',
  accountId: 'data-rights',
  sessionId: 'exports',
  name,
});
/** Where a request's received messages are sealed (issue 32): data-rights' vault namespace, a session per request. */
const EVIDENCE = { namespace: 'data-rights', accountId: 'data-rights' } as const;
const evidencePlace = (requestId: string, name: string) => ({ ...EVIDENCE, sessionId: `request:${requestId}`, name });

export const WIRING: readonly WiringStep[] = [
  step(swagger)({
    name: '@fastify/swagger',
    why: "first: it records every route declared after it; documentErrors then adds each operation's security and error responses from its config",
    options: ({ config }) => ({
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'HarakaFlow API',
          version: '0.1.0',
          description: 'The reference API of the HarakaFlow Privacy Kit. Errors: { statusCode, code, error, message }.',
          contact: { name: 'HarakaFlow privacy team', email: config.privacyContact },
        },
        components: {
          securitySchemes: {
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description: 'an account API key (hf_live_...) or the admin key',
            },
            session: {
              type: 'apiKey',
              in: 'cookie',
              name: sessionCookieName(secure(config)),
              description: 'the privacy centre session; state-changing requests also need x-csrf-token',
            },
          },
        },
      },
    }),
    then: ({ app }) => documentErrors(app, { ageGatePrefixes: AGE_GATE_PREFIXES }),
  }),
  step(errorShape)({
    name: 'error-shape',
    why: 'before any plugin that can fail a request: every error, theirs included, answers in the one shape',
  }),
  step(securityHeaders)({
    name: 'security-headers',
    options: ({ config }) => ({ production: secure(config) }),
    why: 'early: every answer carries the headers, refusals by later plugins too',
  }),
  step(inputGuard)({
    name: 'input-guard',
    why: 'before quota and auth: malformed input is refused before it costs a store or database call',
  }),
  step(quota)({
    name: '@harakaflow/quota',
    migrations: quotaMigrations,
    why: 'before auth (a banned client costs no database work; auth uses its failure gate) and before every route (a route declared before it has no limits)',
    late: ['notify', 'webhooks'],
    options: ({ app, config, database, redis }) => ({
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
      storeTimeoutMs: config.quotaStoreTimeoutMs,
      // Client IPs are stored only as a keyed hash, so the store names no IP (§6 erasure; see README).
      clientKeys: {
        secret: createHmac('sha256', config.secrets.dataRightsSubjectKey)
          .update('harakaflow quota client keys')
          .digest(),
        legacy: config.quotaLegacyClientKeys,
      },
      accountKeys: { legacy: config.quotaLegacyAccountKeys },
      onWarning: async (accountId, info) => {
        const payload = {
          quota: info.quota,
          threshold: info.threshold,
          used: info.used,
          limit: info.limit,
          resetAt: info.resetAt.toISOString(),
        };
        // The "rate limit warning" notification of policy §2: an email (an optional kind), and the account's webhooks.
        await app.notify.enqueue({
          kind: 'quota.warning',
          accountId,
          data: { ...payload, percent: Math.round(info.threshold * 100) },
        });
        await app.webhooks.emit(accountId, 'quota.warning', payload);
      },
    }),
  }),
  step(auth)({
    name: 'auth',
    why: 'after quota, whose failure gate it calls; before audit and the rest, which read request.account',
    options: ({ app, config, database }) => ({
      db: database.db,
      adminApiKey: config.secrets.adminApiKey,
      session: { cookieName: sessionCookieName(secure(config)), origin: new URL(config.publicUrl).origin },
      cacheMs: config.authCacheMs,
      guard: {
        gate: (request, reply) => app.quota.authGate(request, reply),
        failed: (request) => app.quota.authFailed(request),
        clear: (request) => app.quota.authClear(request),
      },
    }),
  }),
  step(audit)({
    name: '@harakaflow/audit',
    migrations: auditMigrations,
    why: '§1, §3, §4: before the other packages, so their security events (core.securityEvent) reach it',
    options: ({ app, config, database }) => ({
      db: database.db,
      checkpointKeys: splitSecrets(config.secrets.auditCheckpointKeys),
      // Issue 33: the Merkle tree's heads signed as C2SP checkpoints (null: unsigned, HMAC only), each
      // new one queued for the witnesses through the webhook outbox (registered after this step; read when a head comes).
      signer: config.auditSigningKeys,
      onTreeHead: witnessPublisher(app).publish,
      ipMode: config.auditIpMode,
      ipHashKey: config.auditIpHashKey,
      spillDir: resolve(config.auditSpillDir),
      spillMaxBytes: config.auditSpillMaxMb * 1024 * 1024,
      chainVersion: config.auditChainVersion,
      spillFull: config.auditSpillFull,
      // §4 "server logs up to 90 days": the audit plugin registers the server_logs retention class.
      retentionDays: config.retentionServerLogDays,
      ...config.auditTuning,
    }),
  }),
  step(cookie)({
    name: '@fastify/cookie',
    why: 'before consent, age-gate and the sessions, which read and set cookies',
  }),
  step(consent)({
    name: '@harakaflow/consent',
    migrations: consentMigrations,
    why: 'after every plugin that may set cookies in a hook of its own (see the consent README)',
    options: ({ config, database }) => ({
      secrets: splitSecrets(config.secrets.consentSecrets),
      db: database.db,
      policies: config.policyVersions ?? POLICY_VERSIONS,
      cookies: {
        [ANALYTICS_COOKIE]: 'analytics',
        hf_age_block: 'essential',
        [sessionCookieName(secure(config))]: 'essential',
        [LANGUAGE_COOKIE]: 'essential',
      },
      defaultAnalytics: config.consentDefaultAnalytics,
      secure: secure(config),
      routePrefix: '/v1/consent',
      routeConfig: { auth: 'public', ageGate: false, errors: { 400: ['HF_CONSENT_INVALID_BODY'] } },
      gpcWellKnown: { lastUpdate: GPC_LAST_UPDATE },
    }),
  }),
  step(ageGate)({
    name: '@harakaflow/age-gate',
    migrations: ageGateMigrations,
    why: "§8: before the /v1 routes it protects; a minor's erasure runs through data-rights' job (registered later, reached at run time)",
    late: ['dataRights'],
    options: ({ app, config, database }) => ({
      db: database.db,
      secrets: splitSecrets(config.secrets.ageGateSecrets),
      secure: secure(config),
      protectPrefixes: AGE_GATE_PREFIXES,
      eraseAfterMs: config.minorErasureDelayMs,
      // A minor's erasure runs through the same job as every deletion (data rights, registered below).
      erasure: {
        schedule: (subjectId, job) => app.dataRights.scheduleErasure(subjectId, job),
        state: (subjectId) => app.dataRights.erasureState(subjectId),
      },
    }),
  }),
  step(vault)({
    name: '@harakaflow/credential-vault',
    migrations: vaultMigrations,
    why: '§3: before webhooks (endpoint secrets) and data-rights (export keys), which keep secrets in it',
    options: ({ config, database }) => ({ db: database.db, keys: config.secrets.vaultKeys }),
  }),
  step(webhooks)({
    name: '@harakaflow/webhooks',
    migrations: webhooksMigrations,
    why: '§3: after the vault, where endpoint secrets live',
    late: ['notify'],
    options: ({ app, config, database }) => ({
      db: database.db,
      // Accounts subscribe to WEBHOOK_EVENT_TYPES; audit.checkpoint goes to the witnesses only (their own owner).
      eventTypes: [...WEBHOOK_EVENT_TYPES, WITNESS_EVENT],
      allowPrivateDestinations: config.webhooksAllowPrivateDestinations,
      allowHttp: config.webhooksAllowHttp,
      disableAfterDays: config.webhooksDisableAfterDays,
      // Issue 34 item 3: a disabled endpoint is an email to the account (a kind of its own), beside the audit event.
      onEndpointDisabled: async (endpoint) => void (await app.notify.enqueue(endpointDisabledNotice(endpoint))),
    }),
  }),
  step(notify)({
    name: '@harakaflow/notify',
    migrations: notifyMigrations,
    why: '§2, §6, §11: before data-rights, whose updates it sends; its export links are read from data-rights at send time',
    late: ['dataRights'],
    options: ({ app, config, database }) => ({
      db: database.db,
      smtpUrl: config.smtpUrl,
      outboxDir: join(config.dataDir, 'outbox'),
      from: config.notifyFrom,
      dkim: config.notifyDkim
        ? { keySelector: config.notifyDkim.selector, privateKey: config.notifyDkim.key }
        : undefined,
      publicUrl: config.publicUrl,
      unsubscribeSecrets: splitSecrets(config.secrets.notifyUnsubscribeSecrets),
      privacyContact: config.privacyContact,
      // An answer to any message reaches the privacy mailbox, where it joins its request's thread (issue 32).
      replyTo: config.privacyContact,
      recipientOf: (accountId) => notificationRecipient(database.db, accountId),
      // Issue 30 item 6: an account's address gets little but its verification code until verified.
      addressVerified: (accountId, address) => addressVerified(database.db, accountId, address),
      // An export's link is read when the message is sent, never kept in the outbox.
      enrich: async ({ kind, accountId, data }) => {
        // The verification code is made as its message is sent: it is in the message only (false: verified meanwhile).
        if (kind === 'account.email.verification' && accountId) {
          const issued = await issueVerificationCode(
            database.db,
            verificationCodeKey(config.secrets.dataRightsSubjectKey),
            accountId,
            new Date(),
          );
          return issued ? { code: issued.code, expiresAt: utcMinute(issued.expiresAt) } : false;
        }
        // The code of a request made without an API key (issue 32), made as its message is sent.
        const code = await requestCodeData(app, config.publicUrl, kind, data);
        if (code !== undefined) return code;
        if (kind !== 'privacy.request.updated' || data.status !== 'fulfilled' || typeof data.requestId !== 'string')
          return null;
        // The link itself (the admin's views never show it: issue 30 item 7).
        const link = await app.dataRights.exportLink(data.requestId).catch(() => null);
        return link ? { exportUrl: `${config.publicUrl}${link.url}`, exportExpiresAt: link.expiresAt } : null;
      },
      policies: {
        versions: config.policyVersions ?? POLICY_VERSIONS,
        recipients: (after) => policyRecipients(database.db, after),
        policyUrl: `${config.publicUrl}/privacy`,
      },
      // §5, §9, §11 (issue 32 item 4): a provider that starts or stops is announced to every account.
      announcements: {
        list: () =>
          registerAnnouncements(config.subprocessors ?? SUBPROCESSORS, config.subprocessorNoticeDays, config.publicUrl),
        recipients: (after) => policyRecipients(database.db, after),
      },
      routes: {
        config: {
          auth: 'public',
          ageGate: false,
          audit: { path: 'route' },
          quota: { failClosed: true },
          errors: { 400: ['HF_NOTIFY_UNSUBSCRIBE_INVALID'] },
        },
      },
      // The retention runner purges settled notifications (class `notifications`).
      keepSettledDays: false,
    }),
    then: ({ app, database }) => {
      bridgeLegacyNotifications(app, database.db);
      askExistingAccountsToVerify(app, database.db);
      registerPersonalDataHandler(app, appPersonalData(database.db));
      registerPersonalDataHandler(app, messageLogPersonalData(database.db));
    },
  }),
  step(bounceIntake)({
    name: 'bounce-intake',
    why: '§11, §6 (issue 34 item 4): the bounce mailbox read over IMAP (NOTIFY_BOUNCE_IMAP_URL), after notify, which records what each report says',
    // notify's MailboxReader (issue 32), lease name `bounces`, polled as the privacy mailbox is.
    options: ({ config, database }) => ({
      db: database.db,
      url: config.notifyBounceImapUrl,
      pollSeconds: config.privacyImapPollSeconds,
    }),
  }),
  step(dataRights)({
    name: '@harakaflow/data-rights',
    migrations: dataRightsMigrations,
    why: '§6: after every plugin whose personal-data handler it composes, and after the vault (export keys), notify and webhooks (its updates)',
    late: ['contactRequests'],
    options: ({ app, config, database }) => ({
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
        await database.db
          .update(accounts)
          .set({ deletionPendingAt: pending ? new Date() : null })
          .where(eq(accounts.id, accountId));
        // Requesting deletion signs the person out of the privacy centre everywhere.
        if (pending) await revokeAccountSessions(database.db, accountId);
        app.authCache.invalidate(accountId);
        await app.webhooks.pauseAccount(accountId, pending);
      },
      onUpdate: async (request, accountId) => {
        // A request's outcome may change what the account's key may do (erased, restored): forget it here.
        app.authCache.invalidate(accountId);
        // A contact's erasure that answers a forwarded request (issue 32 item 3): its receipt goes to the person.
        // Its own failure is logged, never in the way of the account's notices below (the minute's sweep settles it).
        if (request.kind === 'deletion' && request.subject.kind === 'contact') {
          await app.contactRequests
            .erasureDone(request)
            .catch((error: unknown) =>
              app.log.error(
                { err: errorCodes(error), requestId: request.id },
                'privacy: a forwarded erasure could not be settled; the sweep retries',
              ),
            );
        }
        const payload = {
          requestId: request.id,
          kind: request.kind,
          status: request.status,
          dueAt: request.extendedDueAt ?? request.dueAt,
        };
        // The requester's own account is told of every change (issue 14 item 6), unless it is gone:
        // by email (§6) and webhook.
        if (!(await accountExists(database.db, accountId))) return;
        const notice = requestNotice(request, keysUrl(config));
        const sent = notice ? await app.notify.enqueue({ ...notice, accountId }) : null;
        // A reply to it joins the request's thread in the privacy mailbox (issue 32).
        if (sent) await app.dataRights.intake.recordSent(request.id, app.notify.messageId(sent));
        await app.webhooks.emit(accountId, 'privacy.request.updated', payload);
      },
      // Issue 30 items 8 and 9: the address a request came from is told of every step; an account's
      // own address is captured at its deletion, for the receipt once the account is gone. While
      // the account exists and that is its address, the account's notices above are the ones.
      // Only a verified address (issue 30 item 6, review): a signup with someone else's address must
      // not have that person sent the deletion's receipt.
      addressOf: async (accountId) => {
        const recipient = await notificationRecipient(database.db, accountId);
        return recipient && (await addressVerified(database.db, accountId, recipient.address))
          ? recipient.address
          : null;
      },
      onRequesterUpdate: async (request, address) => {
        if (
          'accountId' in request.subject &&
          (await notificationRecipient(database.db, request.subject.accountId))?.address.toLowerCase() ===
            address.toLowerCase()
        )
          return;
        const sent = await app.notify.enqueue({ ...requesterNotice(request, keysUrl(config)), to: address });
        if (sent) await app.dataRights.intake.recordSent(request.id, app.notify.messageId(sent));
      },
      withdrawConsent: (accountId) => app.consentLedger.withdrawSubject(accountId),
      // Issue 32 item 5: every export's Article 15 statement, from the policy's catalogues, the
      // retention registry and the processor register (article15.ts).
      article15: article15Builder({
        controller: 'HarakaFlow',
        privacyContact: config.privacyContact,
        publicUrl: config.publicUrl,
        register: config.subprocessors ?? SUBPROCESSORS,
        retentionClasses: () => retentionClasses(app),
        planOf: (accountId) => planOfAccount(database.db, accountId),
      }),
      // Issue 32: a request made without a key is about the account whose verified address it came from.
      accountByEmail: (email) => accountByVerifiedEmail(database.db, email),
      // The messages read from the privacy mailbox, sealed in the vault under their request.
      evidence: {
        put: async (requestId, name, value) => void (await app.vault.put(evidencePlace(requestId, name), value)),
        get: async (requestId, name) => (await app.vault.get(evidencePlace(requestId, name)))?.value ?? null,
        deleteAll: (requestId) =>
          app.vault.deleteSession(EVIDENCE.accountId, `request:${requestId}`, EVIDENCE.namespace),
      },
      retainDays: config.retentionRightsRequestsDays,
      onAlert: async ({ action, request }) => {
        // An operator notification: no account.
        await database.db.insert(notifications).values({
          id: randomUUID(),
          accountId: null,
          kind: action,
          payload: { requestId: request.id, kind: request.kind, dueAt: request.extendedDueAt ?? request.dueAt },
        });
      },
    }),
  }),
  step(rightsIntake)({
    name: 'rights-intake',
    why: '§6 (issue 32): the privacy mailbox read over IMAP (PRIVACY_IMAP_URL), after data-rights (its intake), notify (the answers) and quota (answers per sender)',
    options: ({ config, database }) => ({
      db: database.db,
      url: config.privacyImapUrl,
      pollSeconds: config.privacyImapPollSeconds,
    }),
  }),
  step(contactRequestsPlugin)({
    name: 'contact-requests',
    why: "§1, §6 (issue 32 item 3): contacts' requests passed to the accounts that hold their number, after data-rights (erasures), notify (the messages), webhooks (privacy.request.forwarded) and quota",
    options: ({ config, database }) => ({
      db: database.db,
      codeKey: proofCodeKey(config.secrets.dataRightsSubjectKey),
      whatsappNumber: config.privacyWhatsappNumber,
      dueDays: config.dataRightsDueDays,
      dueSoonDays: 7,
      keysUrl: keysUrl(config),
    }),
  }),
  step(auditStreamsPlugin)({
    name: 'audit-streams',
    why: "§1, §3 (issue 33 item 5): accounts' trails and the admin's log sent to their SIEMs, after audit (what it reads), the vault (its secrets) and data-rights (an erased account's streams end)",
    options: ({ config, database }) => ({
      db: database.db,
      // The webhooks' destination policy: https and public addresses only, unless the same settings allow otherwise.
      policy: { allowHttp: config.webhooksAllowHttp, allowPrivate: config.webhooksAllowPrivateDestinations },
      intervalSeconds: config.auditStreamsIntervalSeconds,
      retentionDays: config.retentionServerLogDays,
    }),
  }),
  step(retention)({
    name: '@harakaflow/retention',
    migrations: retentionMigrations,
    why: "§4: after every package that registers a retention class; the app's own classes follow it",
    options: ({ config, database }) => ({
      db: database.db,
      intervalMinutes: config.retentionIntervalMinutes,
      batchSize: config.retentionBatchSize,
      pauseMs: config.retentionBatchPauseMs,
    }),
    then: ({ app, config, database }) => {
      for (const spec of appRetentionClasses(database.db, config)) registerRetentionClass(app, spec);
    },
  }),
  // The routes: after every plugin (quota limits, age-gate protection and swagger see them all).
  step(systemRoutes)({
    name: 'routes/system',
    why: 'routes come after every plugin',
    // /health's `quota`: Redis probed; the Postgres store is the database; memory is always up.
    options: ({ config, database, redis }) => ({
      database,
      secureCookies: secure(config),
      quotaStore: redis ? () => redisUp(redis) : config.databaseUrl ? ('database' as const) : ('memory' as const),
      // The OpenAPI document lists every route: not served in production unless OPENAPI_PUBLIC=1.
      openapi: !secure(config) || config.openapiPublic,
    }),
  }),
  step(accountRoutes)({
    name: 'routes/accounts',
    why: 'routes come after every plugin',
    // GET /v1/me's notices are read at most once per AUTH_CACHE_MS per account and replica, as the key is.
    options: ({ config, database }) => ({
      db: database.db,
      secureCookies: secure(config),
      codeKey: verificationCodeKey(config.secrets.dataRightsSubjectKey),
      noticesCacheMs: config.authCacheMs,
    }),
  }),
  step(keyRoutes)({
    name: 'routes/keys',
    why: 'routes come after every plugin',
    options: ({ database }) => ({ db: database.db }),
  }),
  step(adminRoutes)({
    name: 'routes/admin',
    why: 'routes come after every plugin',
    options: ({ database }) => ({ db: database.db }),
  }),
  step(credentialRoutes)({ name: 'routes/credentials', why: 'routes come after every plugin' }),
  step(auditRoutes)({ name: 'routes/audit', why: 'routes come after every plugin' }),
  step(auditWitnessRoutes)({
    name: 'routes/audit-witnesses',
    why: 'routes come after every plugin (issue 33 item 3: the admin registers the witnesses of the signed tree heads)',
  }),
  step(auditStreamRoutes)({ name: 'routes/audit-streams', why: 'routes come after every plugin' }),
  step(auditKeyRoutes)({
    name: 'routes/audit-keys',
    why: "routes come after every plugin: the audit log's public keys at /.well-known (issue 33), public",
    options: ({ config }) => ({ keys: config.auditSigningKeys }),
  }),
  step(webhookRoutes)({
    name: 'routes/webhooks',
    why: 'routes come after every plugin',
    options: ({ config }) => ({ metaAppSecret: config.metaAppSecret, metaVerifyToken: config.metaVerifyToken }),
  }),
  step(webhookDeliveryRoutes)({ name: 'routes/webhook-deliveries', why: 'routes come after every plugin' }),
  step(messageRoutes)({
    name: 'routes/messages',
    why: 'routes come after every plugin',
    options: ({ database }) => ({ db: database.db }),
  }),
  step(usageRoutes)({ name: 'routes/usage', why: 'routes come after every plugin' }),
  step(privacyRoutes)({
    name: 'routes/privacy',
    why: 'routes come after every plugin',
    options: ({ config, database }) => ({
      db: database.db,
      session: { cookieName: sessionCookieName(secure(config)), secure: secure(config) },
    }),
  }),
  step(privacyCentre)({
    name: 'routes/privacy-centre',
    why: 'the page at /privacy, its no-JavaScript consent form and its sessions',
    options: ({ config, database }) => ({
      db: database.db,
      origin: new URL(config.publicUrl).origin,
      cookieName: sessionCookieName(secure(config)),
      secureCookies: secure(config),
      analyticsDefault: config.consentDefaultAnalytics,
      privacyContact: config.privacyContact,
    }),
  }),
  step(publicRequestRoutes)({
    name: 'routes/public-requests',
    why: 'routes come after every plugin: requests without an account, their code, and the no-JavaScript form at /privacy/request',
    options: ({ config }) => ({
      origin: new URL(config.publicUrl).origin,
      register: config.subprocessors ?? SUBPROCESSORS,
    }),
  }),
  step(contactRequestRoutes)({
    name: 'routes/contact-requests',
    why: "routes come after every plugin: the WhatsApp code of a contact's request, and the forwarded requests accounts answer",
  }),
  step(subprocessorRoutes)({
    name: 'routes/subprocessors',
    why: 'routes come after every plugin: the processor register (§5, §9), JSON and page',
    options: ({ config }) => ({
      register: config.subprocessors ?? SUBPROCESSORS,
      noticeDays: config.subprocessorNoticeDays,
    }),
  }),
  step(notificationRoutes)({ name: 'routes/notifications', why: 'routes come after every plugin' }),
  step(retentionRoutes)({ name: 'routes/retention', why: 'routes come after every plugin' }),
];

/** Every migration set the app applies, in order: the app's own, then each step's in table order. */
export const APP_MIGRATIONS: readonly MigrationSet[] = [
  appMigrations,
  ...WIRING.flatMap((s) => (s.migrations ? [s.migrations] : [])),
];

/** Registers every step in order, then checks that what the steps' callbacks reach later is there. */
export async function registerWiring(w: WiringContext, steps: readonly WiringStep[] = WIRING): Promise<void> {
  for (const s of steps) {
    await w.app.register(s.plugin, s.options?.(w) ?? {});
    s.then?.(w);
  }
  for (const s of steps) {
    for (const name of s.late ?? []) {
      if (!w.app.hasDecorator(name))
        throw new Error(`wiring: ${s.name}'s callbacks use app.${name}, which no later step registered`);
    }
  }
}
