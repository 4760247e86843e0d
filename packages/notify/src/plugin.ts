/**
 * The notify plugin: `fastify.notify` (the Notifier), its dispatcher loop in this replica, the
 * policy-notice job (at startup, then hourly), the one-click unsubscribe routes (RFC 8058), and
 * the package's personal-data handler.
 */
import {
  errorCodes,
  prepareKeys,
  purgeByCount,
  registerPersonalDataHandler,
  registerRetentionClass,
} from '@harakaflow/core';
import { startDispatchLoop, type DispatchLoop } from '@harakaflow/db/internals';
import type { FastifyPluginAsync } from 'fastify';
import { BadUnsubscribeLink } from './errors.js';
import './fastify.js';
import { notifyMetrics } from './metrics.js';
import { resolveOptions, type NotifyOptions } from './options.js';
import { fromDomain, Notifier } from './service.js';
import { UNSUBSCRIBE_LINK_DAYS } from './unsubscribe-links.js';
import { doneBody, invalidBody, questionBody, sendPage, unsubscribeLanguage, wantsHtml } from './unsubscribe-page.js';
import { fileTransport, smtpTransport } from './transport.js';

/** OpenAPI's tag and summary, for an app that documents its routes with @fastify/swagger. */
const docs = (summary: string) => ({ tags: ['notifications'], summary }) as object;

const plugin: FastifyPluginAsync<NotifyOptions> = async (fastify, options) => {
  const { db, keepDays, schedule } = resolveOptions(options);

  const dkim = options.dkim
    ? { ...options.dkim, domainName: options.dkim.domainName ?? fromDomain(options.from) }
    : undefined;
  const transport =
    options.transport ??
    (options.smtpUrl ? smtpTransport(options.smtpUrl, { dkim }) : fileTransport(options.outboxDir!, { dkim }));
  let loop: DispatchLoop | undefined;
  const notifier = new Notifier({
    db,
    transport,
    from: options.from,
    publicUrl: options.publicUrl,
    unsubscribeKeys: prepareKeys(options.unsubscribeSecrets),
    privacyContact: options.privacyContact,
    replyTo: options.replyTo,
    recipientOf: options.recipientOf,
    enrich: options.enrich,
    addressVerified: options.addressVerified,
    schedule,
    reportRecipientDays: options.reportRecipientDays,
    now: options.now,
    log: fastify.log,
    onQueued: () => loop?.kick(),
  });
  fastify.decorate('notify', notifier);
  notifyMetrics(fastify, db, options.now ?? Date.now);

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
    // A legal hold on the subject for this class keeps its notifications through an erasure.
    retentionClasses: ['notifications'],
    exportSubject: (ref) =>
      notifier.exportSubject(ref.kind === 'email' ? { email: ref.email } : { accountId: ref.accountId }),
    eraseSubject: async (ref) => {
      // A contact's number is never in a notification: nothing of theirs here.
      if (ref.kind === 'contact') return { erased: 0 };
      return notifier.eraseSubject(ref.kind === 'email' ? { email: ref.email } : { accountId: ref.accountId });
    },
  });

  // Work run at startup and then every `ms`: a startup run that throws stops the startup when
  // `startup` is 'stops', else it is logged like the later runs.
  const timers: NodeJS.Timeout[] = [];
  const periodic = (what: string, ms: number, run: () => Promise<unknown>, startup: 'stops' | 'logged') => {
    const logged = () =>
      run().catch((error: unknown) => void fastify.log.error({ err: errorCodes(error) }, `notify: ${what} failed`));
    fastify.addHook('onReady', async () => {
      await (startup === 'stops' ? run() : logged());
      timers.push(setInterval(() => void logged(), ms).unref());
    });
  };

  // §11: at startup (a notice that can no longer be given in time stops it), then every hour.
  if (options.policies) {
    const p = options.policies;
    periodic(
      'policy notices',
      p.checkIntervalMs ?? 3_600_000,
      () => notifier.schedulePolicyNotices(p.versions, p.recipients, { policyUrl: p.policyUrl }),
      'stops',
    );
  }
  // A kind added by this version that an older replica settled as unknown during the deploy is sent after all.
  periodic(
    'reviving messages of kinds an older version did not know',
    300_000,
    () => notifier.reviveUnknownKinds(),
    'logged',
  );
  if (options.announcements) {
    const a = options.announcements;
    periodic(
      'announcements',
      a.checkIntervalMs ?? 3_600_000,
      () => notifier.scheduleAnnouncements(a.list(), a.recipients),
      'stops',
    );
  }

  if (options.dispatch !== false) {
    const intervalMs = options.dispatch?.intervalMs ?? 1000;
    const batch = options.dispatch?.batch ?? 20;
    fastify.addHook('onReady', async () => {
      if (!options.transport)
        fastify.log.info(
          { transport: transport.description },
          options.smtpUrl
            ? 'notify: sending through SMTP'
            : `notify: no SMTP_URL; messages are written as .eml files in ${options.outboxDir}`,
        );
      loop = startDispatchLoop({
        intervalMs,
        batch,
        dispatch: (n) => notifier.dispatch(n),
        onError: (error) => fastify.log.error({ err: errorCodes(error) }, 'notify: dispatch failed'),
      });
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
      purgeTimer = setInterval(
        () =>
          purge().catch((error: unknown) =>
            fastify.log.error({ err: errorCodes(error) }, 'notify: purging settled notifications failed'),
          ),
        3_600_000,
      );
      purgeTimer.unref();
    });
  }
  fastify.addHook('onClose', async () => {
    clearInterval(purgeTimer);
    for (const timer of timers) clearInterval(timer);
    await loop?.stop();
    transport.close();
  });

  if (options.routes !== false) {
    const prefix = options.routes?.prefix ?? '/v1/notifications';
    const config = options.routes?.config ?? {};
    await fastify.register(async (scope) => {
      // RFC 8058: the one-click POST is form-encoded (`List-Unsubscribe=One-Click`); its body is not needed.
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 1024 },
        (_request, body, done) => done(null, body),
      );
      // The token in the query: longer than a path parameter may be, and RFC 8058 allows it there;
      // `lang`, the language the page's switch chose (issue 32 item 7; anything else: Accept-Language).
      const querystring = {
        type: 'object',
        required: ['token'],
        properties: {
          token: { type: 'string', minLength: 1, maxLength: 600 },
          lang: { type: 'string', maxLength: 35 },
        },
      } as const;
      scope.post<{ Querystring: { token: string; lang?: string } }>(
        `${prefix}/unsubscribe`,
        {
          config,
          schema: {
            querystring,
            ...docs('One-click unsubscribe (RFC 8058) from an optional kind of notification'),
            response: {
              200: {
                description:
                  "Unsubscribed: JSON, or a page saying so for a browser (its Accept names text/html: the page's button)",
                content: {
                  'application/json': {
                    schema: {
                      type: 'object',
                      properties: { unsubscribed: { type: 'boolean' }, kind: { type: 'string' } },
                    },
                  },
                  'text/html': { schema: { type: 'string' } },
                },
              },
            },
          },
        },
        async (request, reply) => {
          const done = await notifier.unsubscribe(request.query.token);
          // The page's button (a browser asks for HTML) is answered with a page, in the page's language.
          if (wantsHtml(request.headers.accept)) {
            const { lang } = unsubscribeLanguage(request);
            return done
              ? sendPage(reply, 200, lang, 'unsubscribe.done.title', doneBody(lang))
              : sendPage(reply, 400, lang, 'unsubscribe.invalid.title', invalidBody(lang, UNSUBSCRIBE_LINK_DAYS));
          }
          if (!done) throw new BadUnsubscribeLink();
          return { unsubscribed: true, kind: done.kind };
        },
      );
      // A link opened in a browser: a page with the button, never an unsubscribe on GET (mail scanners fetch links).
      scope.get<{ Querystring: { token: string; lang?: string } }>(
        `${prefix}/unsubscribe`,
        {
          config,
          schema: {
            querystring,
            ...docs('The unsubscribe page: a button that posts the one-click form'),
            response: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
          },
        },
        async (request, reply) => {
          // In the language of the switch (kept by the form's action) or the browser's (issue 32 item 7).
          const { lang, chosen } = unsubscribeLanguage(request);
          const link = (query: Record<string, string>) =>
            `${prefix}/unsubscribe?${new URLSearchParams({ token: request.query.token, ...query }).toString()}`;
          const action = link(chosen ? { lang } : {});
          return sendPage(reply, 200, lang, 'unsubscribe.page.title', questionBody(lang, action), (l) =>
            link({ lang: l }),
          );
        },
      );
    });
  }
};

export default plugin;
