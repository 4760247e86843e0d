/**
 * The app's wiring as data (issue 19 item 4): every plugin of the reference app, in the order it
 * is registered, with its options (from the config), its migrations and why it sits where it
 * does. The migration list (APP_MIGRATIONS) and the registration order both come from this one
 * table; a callback that reaches a plugin registered later says so in `late`, and buildApp checks
 * at boot that each of those is there. What the app does when a plugin reports something (a deletion
 * pending, a request changed, a deadline, a quota warning) is a named function in reactions*.ts;
 * the routes are one step, `routes`, whose plugin (src/routes/index.ts) registers every module.
 */
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import ageGate, { ageGateMigrations } from '@harakaflow/age-gate';
import audit, { auditMigrations } from '@harakaflow/audit';
import consent, { consentMigrations } from '@harakaflow/consent';
import { registerPersonalDataHandler, registerRetentionClass } from '@harakaflow/core';
import vault, { vaultMigrations } from '@harakaflow/credential-vault';
import dataRights, { dataRightsMigrations } from '@harakaflow/data-rights';
import type { MigrationSet } from '@harakaflow/db';
import notify, { notifyMigrations } from '@harakaflow/notify';
import quota, { quotaMigrations } from '@harakaflow/quota';
import retention, { retentionMigrations } from '@harakaflow/retention';
import webhooks, { webhooksMigrations } from '@harakaflow/webhooks';
import { fileURLToPath } from 'node:url';
import { splitSecrets } from '../config/config.js';
import { accountByVerifiedEmail, accountExists, appPersonalData, messageLogPersonalData } from '../data/accounts.js';
import { sessionCookieName } from '../data/sessions.js';
import { WITNESS_EVENT } from '../audit/witnesses.js';
import { auditStreamsPlugin } from '../audit/streams.js';
import auth from '../http/auth.js';
import errorShape from '../http/error-shape.js';
import inputGuard from '../http/input-guard.js';
import { documentErrors } from '../http/openapi.js';
import securityHeaders from '../http/security-headers.js';
import bounceIntake from '../privacy/bounce-intake.js';
import { contactRequestsPlugin, proofCodeKey } from '../privacy/contact-requests.js';
import { askExistingAccountsToVerify, bridgeLegacyNotifications } from '../privacy/notices.js';
import rightsIntake from '../privacy/rights-intake.js';
import routes from '../routes/index.js';
import { WEBHOOK_EVENT_TYPES } from '../routes/webhooks/webhooks.js';
import { keysUrl, secure, step, type WiringContext, type WiringStep } from './context.js';
import { auditOptions, consentOptions, notifyOptions, openapiDocument, quotaOptions } from './options.js';
import { minorErasureThroughDataRights, tellEndpointDisabled } from './reactions.js';
import {
  article15Of,
  evidenceStore,
  exportKeyStore,
  markDeletionPending,
  recordOperatorAlert,
  tellRequester,
  tellRequestUpdate,
  verifiedAddressOf,
} from './reactions-rights.js';
import { appRetentionClasses } from './retention-classes.js';

export type { WiringContext, WiringStep } from './context.js';

/** The app's own migrations (schema `app`). */
export const appMigrations: MigrationSet = {
  name: 'app',
  folder: fileURLToPath(new URL('../../drizzle', import.meta.url)),
};

/** §8: every route under these needs a verified adult, unless its config says `ageGate: false`. */
const AGE_GATE_PREFIXES = ['/v1'];

export const WIRING: readonly WiringStep[] = [
  step(swagger)({
    name: '@fastify/swagger',
    why: "first: it records every route declared after it; documentErrors then adds each operation's security and error responses from its config",
    options: ({ config }) => openapiDocument(config),
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
    options: (w) => quotaOptions(w),
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
    options: (w) => auditOptions(w),
  }),
  step(cookie)({
    name: '@fastify/cookie',
    why: 'before consent, age-gate and the sessions, which read and set cookies',
  }),
  step(consent)({
    name: '@harakaflow/consent',
    migrations: consentMigrations,
    why: 'after every plugin that may set cookies in a hook of its own (see the consent README)',
    options: (w) => consentOptions(w),
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
      erasure: minorErasureThroughDataRights(app),
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
      onEndpointDisabled: (endpoint) => tellEndpointDisabled(app, endpoint),
    }),
  }),
  step(notify)({
    name: '@harakaflow/notify',
    migrations: notifyMigrations,
    why: '§2, §6, §11: before data-rights, whose updates it sends; its export links are read from data-rights at send time',
    late: ['dataRights'],
    options: (w) => notifyOptions(w),
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
    options: ({ app, config, database: { db } }) => ({
      db,
      signingKeys: config.secrets.dataRightsSigningKeys,
      subjectKey: config.secrets.dataRightsSubjectKey,
      keyStore: exportKeyStore(app),
      accountExists: (id) => accountExists(db, id),
      dueDays: config.dataRightsDueDays,
      purgeAfterDays: config.dataRightsPurgeAfterDays,
      exportTtlHours: config.dataRightsExportTtlHours,
      onPendingDeletion: (accountId, pending) => markDeletionPending(app, db, accountId, pending),
      onUpdate: (request, accountId) => tellRequestUpdate(app, db, config, request, accountId),
      addressOf: (accountId) => verifiedAddressOf(db, accountId),
      onRequesterUpdate: (request, address) => tellRequester(app, db, config, request, address),
      withdrawConsent: (accountId) => app.consentLedger.withdrawSubject(accountId),
      article15: article15Of(app, db, config),
      // Issue 32: a request made without a key is about the account whose verified address it came from.
      accountByEmail: (email) => accountByVerifiedEmail(db, email),
      evidence: evidenceStore(app),
      retainDays: config.retentionRightsRequestsDays,
      onAlert: (alert) => recordOperatorAlert(db, alert),
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
  step(routes)({
    name: 'routes',
    why: 'routes come after every plugin: quota limits, age-gate protection and swagger see them all (src/routes/index.ts, in its order)',
    options: ({ config, database, redis }) => ({ config, database, redis }),
  }),
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
