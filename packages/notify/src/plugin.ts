/**
 * The notify plugin: `fastify.notify` (the Notifier), its dispatcher loop in this replica, the
 * policy-notice job (at startup, then hourly), the one-click unsubscribe routes (RFC 8058), and
 * the package's personal-data handler.
 */
import { checkDatabaseOption, errorCodes, prepareKeys, purgeByCount, registerPersonalDataHandler, registerRetentionClass } from '@harakaflow/core';
import { startDispatchLoop, type Database, type DispatchLoop } from '@harakaflow/db';
import type { FastifyContextConfig, FastifyPluginAsync } from 'fastify';
import { BadUnsubscribeLink, invalidOption } from './errors.js';
import { fromDomain, Notifier, type PolicyVersion, type Recipient } from './service.js';
import { escapeHtml } from './templates.js';
import { fileTransport, smtpTransport, type DkimOptions, type Transport } from './transport.js';

export interface NotifyOptions {
  db: Database;
  /** `smtp://user:pass@host:587` or `smtps://...`: send through it. Unset: `.eml` files in `outboxDir`. */
  smtpUrl?: string | undefined;
  /** Where `.eml` files go without `smtpUrl`. */
  outboxDir?: string | undefined;
  /** A transport of your own (tests, another provider); wins over `smtpUrl`. */
  transport?: Transport | undefined;
  /** The From address: `HarakaFlow <no-reply@harakaflow.com>`. Required. */
  from: string;
  /** DKIM signing; `domainName` defaults to the domain of `from`. */
  dkim?: (Omit<DkimOptions, 'domainName'> & { domainName?: string | undefined }) | undefined;
  /** The API's public base URL, for links in messages: `https://api.harakaflow.com`. Required. */
  publicUrl: string;
  /** HMAC secrets of unsubscribe links (at least 32 characters each): the first signs, all verify. Required. */
  unsubscribeSecrets: string[];
  recipientOf?: ((accountId: string) => Promise<Recipient | null>) | undefined;
  enrich?: ConstructorParameters<typeof Notifier>[0]['enrich'];
  /** The dispatcher loop: `false` for none here. Default { intervalMs: 1000, batch: 20 }. */
  dispatch?: false | { intervalMs?: number; batch?: number } | undefined;
  /** Delays after each temporary failure, ms (jitter added). Default NOTIFY_RETRY_SCHEDULE_MS. */
  retrySchedule?: readonly number[] | undefined;
  /** §11 notices: the policy's versions, who to tell (paged by account id), the policy's URL. */
  policies?: { versions: readonly PolicyVersion[]; recipients: (after: string | null) => Promise<({ accountId: string } & Recipient)[]>; policyUrl: string; checkIntervalMs?: number } | undefined;
  /** The unsubscribe routes: `false` for none. Default { prefix: '/v1/notifications' }; `config` goes on both routes. */
  routes?: false | { prefix?: string; config?: FastifyContextConfig } | undefined;
  /** Settled notifications (sent, failed, suppressed) are deleted after this many days, checked hourly. Default 30; `false`: never here (a retention runner does it). */
  keepSettledDays?: number | false | undefined;
  now?: (() => number) | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Notifications to people: the outbox and its dispatcher (@harakaflow/notify). */
    notify: Notifier;
  }
}

const SMTP_URL = /^smtps?:\/\/[^\s]+$/;
/** OpenAPI's tag and summary, for an app that documents its routes with @fastify/swagger. */
const docs = (summary: string) => ({ tags: ['notifications'], summary }) as object;

const plugin: FastifyPluginAsync<NotifyOptions> = async (fastify, options) => {
  const db = checkDatabaseOption(options.db, invalidOption);
  if (typeof options.from !== 'string' || !/@[^@\s>]+>?\s*$/.test(options.from)) throw invalidOption('from', 'must be an address, e.g. "HarakaFlow <no-reply@harakaflow.com>"');
  if (typeof options.publicUrl !== 'string' || !/^https?:\/\/[^\s/]+/.test(options.publicUrl)) throw invalidOption('publicUrl', 'must be an http(s) URL');
  if (!Array.isArray(options.unsubscribeSecrets) || !options.unsubscribeSecrets.length || options.unsubscribeSecrets.some((s) => typeof s !== 'string' || s.length < 32)) {
    throw invalidOption('unsubscribeSecrets', 'must be a list of secrets of at least 32 characters each (the first signs)');
  }
  // The URL is checked for its form only: never quoted, it holds the credentials.
  if (options.smtpUrl !== undefined && (typeof options.smtpUrl !== 'string' || !SMTP_URL.test(options.smtpUrl))) throw invalidOption('smtpUrl', 'must be an smtp:// or smtps:// URL');
  if (!options.transport && !options.smtpUrl && typeof options.outboxDir !== 'string') throw invalidOption('outboxDir', 'is required without smtpUrl or transport (where .eml files are written)');
  const keepDays = options.keepSettledDays ?? 30;
  if (keepDays !== false && (!Number.isInteger(keepDays) || keepDays < 1)) throw invalidOption('keepSettledDays', 'must be a whole number of days, or false');
  const schedule = options.retrySchedule;
  if (schedule !== undefined && (!Array.isArray(schedule) || schedule.some((d) => !Number.isInteger(d) || d < 0))) throw invalidOption('retrySchedule', 'must be a list of delays in ms');

  const dkim = options.dkim ? { ...options.dkim, domainName: options.dkim.domainName ?? fromDomain(options.from) } : undefined;
  const transport = options.transport ?? (options.smtpUrl ? smtpTransport(options.smtpUrl, { dkim }) : fileTransport(options.outboxDir!, { dkim }));
  let loop: DispatchLoop | undefined;
  const notifier = new Notifier({
    db,
    transport,
    from: options.from,
    publicUrl: options.publicUrl,
    unsubscribeKeys: prepareKeys(options.unsubscribeSecrets),
    recipientOf: options.recipientOf,
    enrich: options.enrich,
    schedule,
    now: options.now,
    log: fastify.log,
    onQueued: () => loop?.kick(),
  });
  fastify.decorate('notify', notifier);

  // §4 (contract 5b): a settled notification's address and data are kept 30 days.
  registerRetentionClass(fastify, {
    name: 'notifications',
    policyClause: '§2, §4: notifications sent (or given up), with their address and template data, 30 days',
    periodDays: 30,
    purgeBatch: purgeByCount((b) => notifier.purgeSettled(b.cutoff, b.limit, b.heldSubjects, b.dryRun)),
  });

  registerPersonalDataHandler(fastify, {
    name: 'notify',
    identifiers: ['account', 'email'],
    exportSubject: (ref) => notifier.exportSubject(ref.kind === 'email' ? { email: ref.email } : { accountId: ref.accountId }),
    eraseSubject: async (ref) => {
      // A contact's number is never in a notification: nothing of theirs here.
      if (ref.kind === 'contact') return { erased: 0 };
      return notifier.eraseSubject(ref.kind === 'email' ? { email: ref.email } : { accountId: ref.accountId });
    },
  });

  // §11: at startup (a notice that can no longer be given in time stops it), then every hour.
  let policyTimer: NodeJS.Timeout | undefined;
  if (options.policies) {
    const p = options.policies;
    const run = () => notifier.schedulePolicyNotices(p.versions, p.recipients, { policyUrl: p.policyUrl });
    fastify.addHook('onReady', async () => {
      await run();
      policyTimer = setInterval(() => {
        run().catch((error: unknown) => fastify.log.error({ err: errorCodes(error) }, 'notify: policy notices failed'));
      }, p.checkIntervalMs ?? 3_600_000);
      policyTimer.unref();
    });
  }

  if (options.dispatch !== false) {
    const intervalMs = options.dispatch?.intervalMs ?? 1000;
    const batch = options.dispatch?.batch ?? 20;
    fastify.addHook('onReady', async () => {
      if (!options.transport) fastify.log.info({ transport: transport.description }, options.smtpUrl ? 'notify: sending through SMTP' : `notify: no SMTP_URL; messages are written as .eml files in ${options.outboxDir}`);
      loop = startDispatchLoop({ intervalMs, batch, dispatch: (n) => notifier.dispatch(n), onError: (error) => fastify.log.error({ err: errorCodes(error) }, 'notify: dispatch failed') });
    });
  }
  // The outbox keeps a settled message's address and data no longer than keepSettledDays (§4).
  let purgeTimer: NodeJS.Timeout | undefined;
  if (keepDays !== false) {
    const purge = async () => {
      const before = new Date((options.now ?? Date.now)() - keepDays * 86_400_000);
      while ((await notifier.purgeSettled(before)) === 1000);
    };
    fastify.addHook('onReady', async () => {
      purgeTimer = setInterval(() => purge().catch((error: unknown) => fastify.log.error({ err: errorCodes(error) }, 'notify: purging settled notifications failed')), 3_600_000);
      purgeTimer.unref();
    });
  }
  fastify.addHook('onClose', async () => {
    clearInterval(purgeTimer);
    clearInterval(policyTimer);
    await loop?.stop();
    transport.close();
  });

  if (options.routes !== false) {
    const prefix = options.routes?.prefix ?? '/v1/notifications';
    const config = options.routes?.config ?? {};
    await fastify.register(async (scope) => {
      // RFC 8058: the one-click POST is form-encoded (`List-Unsubscribe=One-Click`); its body is not needed.
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, body, done) => done(null, body));
      // The token in the query: longer than a path parameter may be, and RFC 8058 allows it there.
      const querystring = { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 600 } } } as const;
      scope.post<{ Querystring: { token: string } }>(
        `${prefix}/unsubscribe`,
        { config, schema: { querystring, ...docs('One-click unsubscribe (RFC 8058) from an optional kind of notification') } },
        async (request) => {
          const done = await notifier.unsubscribe(request.query.token);
          if (!done) throw new BadUnsubscribeLink();
          return { unsubscribed: true, kind: done.kind };
        },
      );
      // A link opened in a browser: a page with the button, never an unsubscribe on GET (mail scanners fetch links).
      scope.get<{ Querystring: { token: string } }>(
        `${prefix}/unsubscribe`,
        { config, schema: { querystring, ...docs('The unsubscribe page: a button that posts the one-click form') } },
        async (request, reply) => {
          const action = `${prefix}/unsubscribe?token=${encodeURIComponent(request.query.token)}`;
          return reply
            .type('text/html; charset=utf-8')
            .send(
              `<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body><form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><p>Stop these optional HarakaFlow notifications? Security and legal notices are always sent.</p><button type="submit">Unsubscribe</button></form></body></html>`,
            );
        },
      );
    });
  }
};

export default plugin;
