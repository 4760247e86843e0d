/**
 * The options of the plugins whose settings take more than a few lines: the config mapped to each
 * package's option names, the app's reactions (reactions.ts) handed in. Their steps are in plugins.ts.
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { AuditOptions } from '@harakaflow/audit';
import type { ConsentOptions } from '@harakaflow/consent';
import type { NotifyOptions } from '@harakaflow/notify';
import { DEFAULT_PLANS, type QuotaOptions } from '@harakaflow/quota';
import { createHmac } from 'node:crypto';
import { join, resolve } from 'node:path';
import { splitSecrets, type AppConfig } from '../config/config.js';
import { ANALYTICS_COOKIE } from '../data/analytics.js';
import { sessionCookieName } from '../data/sessions.js';
import { witnessPublisher } from '../audit/witnesses.js';
import { LANGUAGE_COOKIE } from '../languages/languages.js';
import { addressVerified, notificationRecipient, policyRecipients } from '../privacy/notices.js';
import { registerAnnouncements, SUBPROCESSORS } from '../privacy/subprocessors.js';
import { secure, type WiringContext } from './context.js';
import { GPC_LAST_UPDATE, POLICY_VERSIONS } from './policy-versions.js';
import { enrichMessage, warnOfQuota } from './reactions.js';

/**
 * The OpenAPI document's head that @fastify/swagger starts from: the API's info, its contact and its two security
 * schemes.
 */
export function openapiDocument(config: AppConfig): FastifyDynamicSwaggerOptions {
  return {
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
  };
}

/** The secret of quota's client keys, derived from DATA_RIGHTS_SUBJECT_KEY for this one use. */
/** The client-key secret of releases before QUOTA_CLIENT_KEY_SECRET, derived from DATA_RIGHTS_SUBJECT_KEY. */
const derivedClientKeySecret = (subjectKey: string) =>
  createHmac('sha256', subjectKey).update('harakaflow quota client keys').digest();

/**
 * Quota's client keys: QUOTA_CLIENT_KEY_SECRET's first secret writes and the others are read for
 * bans; with QUOTA_CLIENT_KEY_ROLLING the derived secret of earlier releases is read too. Unset: the
 * derived secret, as before.
 */
function clientKeys(config: AppConfig): NonNullable<QuotaOptions['clientKeys']> {
  const derived = derivedClientKeySecret(config.secrets.dataRightsSubjectKey);
  const [secret, ...previous] = splitSecrets(config.secrets.quotaClientKeySecret ?? '');
  if (secret === undefined) return { secret: derived, legacy: config.quotaLegacyClientKeys };
  if (config.quotaClientKeyRolling)
    return { secret, previous: [...previous, derived], legacy: config.quotaLegacyClientKeys };
  return { secret, previous, legacy: config.quotaLegacyClientKeys };
}

export function quotaOptions({ app, config, database, redis }: WiringContext): QuotaOptions {
  return {
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
    clientKeys: clientKeys(config),
    accountKeys: { legacy: config.quotaLegacyAccountKeys },
    onWarning: (accountId, info) => warnOfQuota(app, accountId, info),
  };
}

export function auditOptions({ app, config, database }: WiringContext): AuditOptions {
  return {
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
  };
}

export function consentOptions({ config, database }: WiringContext): ConsentOptions {
  return {
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
  };
}

export function notifyOptions({ app, config, database: { db } }: WiringContext): NotifyOptions {
  return {
    db,
    smtpUrl: config.smtpUrl,
    outboxDir: join(config.dataDir, 'outbox'),
    from: config.notifyFrom,
    dkim: config.notifyDkim && { keySelector: config.notifyDkim.selector, privateKey: config.notifyDkim.key },
    publicUrl: config.publicUrl,
    unsubscribeSecrets: splitSecrets(config.secrets.notifyUnsubscribeSecrets),
    privacyContact: config.privacyContact,
    // An answer to any message reaches the privacy mailbox, where it joins its request's thread (issue 32).
    replyTo: config.privacyContact,
    recipientOf: (accountId) => notificationRecipient(db, accountId),
    // Issue 30 item 6: an account's address gets little but its verification code until verified.
    addressVerified: (accountId, address) => addressVerified(db, accountId, address),
    enrich: (message) => enrichMessage(app, db, config, message),
    policies: {
      versions: config.policyVersions ?? POLICY_VERSIONS,
      recipients: (after) => policyRecipients(db, after),
      policyUrl: `${config.publicUrl}/privacy`,
    },
    // §5, §9, §11 (issue 32 item 4): a provider that starts or stops is announced to every account.
    announcements: {
      list: () =>
        registerAnnouncements(config.subprocessors ?? SUBPROCESSORS, config.subprocessorNoticeDays, config.publicUrl),
      recipients: (after) => policyRecipients(db, after),
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
  };
}
