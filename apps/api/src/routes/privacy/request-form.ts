/**
 * The public request form (issue 32 item 2), for people without an account or an API key at hand:
 * plain HTML forms that work without JavaScript (`application/x-www-form-urlencoded`), the privacy
 * centre's look and CSP, no script. `GET /privacy/request` asks for the address, the kind and the
 * details; its POST sends the code and answers 303 to `/privacy/request/:id`, the page where the
 * code is entered (its POST confirms; `/code` sends a new one). Every value shown is escaped; every
 * POST must come from this site (its Origin, or Sec-Fetch-Site: same-origin), as the consent form's.
 * The same limits as the JSON routes (a refusal there answers the one JSON error shape).
 *
 * In English and Swahili (issue 32 item 7): every text from the app's catalogues (languages.ts),
 * the page's language from `?lang=` or the forms' hidden `lang` (a choice made on the switch, kept
 * through the POSTs and redirects), else from Accept-Language; `<html lang>`, Content-Language and
 * `Vary: Accept-Language`. The request is kept with the page's language: its code and every
 * message about it are written in it.
 */
import { REQUEST_KINDS } from '@harakaflow/data-rights';
import { isE164 } from '@harakaflow/core';
import type { FastifyRequest } from 'fastify';
import { SessionCsrf } from '../../http/errors.js';
import { languageOfTag, type PageKey, type PageLanguage } from '../../languages/languages.js';
import { sendRequestCode } from '../../privacy/rights-intake.js';
import { confirmRequest, issueProof } from '../../privacy/contact-requests.js';
import { objectionDetails, type Subprocessor } from '../../privacy/subprocessors.js';
import type { Routes } from '../../http/schema-types.js';
import { sameOriginForm } from './centre.js';
import { contactViewQuota, phoneCodeQuota, resendQuota, submitQuota, verifyQuota } from './public-request-limits.js';
import {
  EMAIL,
  UUID,
  field,
  langOf,
  withLang,
  send,
  requestForm,
  codeForm,
  gone,
  confirmed,
  phoneStep,
  codeToSend,
  phoneGone,
} from './request-form-pages.js';

const requestForms: Routes<{ origin: string; register?: readonly Subprocessor[] }> = async (
  app,
  { origin, register = [] },
) => {
  const pageConfig = { auth: 'public' as const, ageGate: false };
  const checked = (request: FastifyRequest) => {
    if (!sameOriginForm(request, origin)) throw new SessionCsrf();
  };

  // A link may choose the kind (`?kind=objection`) and name a change of the processor register it
  // objects to (`&about=subprocessors:<change>`, from its notice): the details are then that change's
  // own text, from the register, never text the link carries; and the language (`&lang=sw`).
  app.get<{ Querystring: { kind?: string; about?: string; lang?: string } }>(
    '/privacy/request',
    { config: pageConfig, schema: { hide: true } },
    async (request, reply) => {
      const { kind, about } = request.query;
      const l = langOf(request, request.query.lang);
      const values: Record<string, string> = {};
      if (typeof kind === 'string' && (REQUEST_KINDS as readonly string[]).includes(kind)) values.kind = kind;
      const details = typeof about === 'string' ? objectionDetails(register, about, l.lang) : undefined;
      if (details) Object.assign(values, { kind: 'objection', details });
      // The switch keeps what the link chose (a kind, a change) and changes the language only.
      const kept: Record<string, string> = {
        ...(values.kind ? { kind: values.kind } : {}),
        ...(details ? { about: about! } : {}),
      };
      return send(reply, 200, l, 'form.title', requestForm(l, values), (lang) =>
        withLang('/privacy/request', lang, kept),
      );
    },
  );

  app.get<{ Params: { id: string }; Querystring: { sent?: string; lang?: string } }>(
    '/privacy/request/:id',
    { config: { ...pageConfig, audit: { path: 'route' } }, schema: { hide: true } },
    async (request, reply) => {
      const { id } = request.params;
      const l = langOf(request, request.query.lang);
      if (!UUID.test(id) || !(await app.dataRights.intake.waitingAddress(id))) {
        return send(reply, 404, l, 'gone.title', gone(l), (lang) => withLang('/privacy/request', lang));
      }
      const path = `/privacy/request/${id.toLowerCase()}`;
      return send(
        reply,
        200,
        l,
        'code.title',
        codeForm(l, id.toLowerCase(), request.query.sent === '1' ? 'code.sent' : undefined),
        (lang) => withLang(path, lang),
      );
    },
  );

  app.get<{ Params: { id: string }; Querystring: { lang?: string } }>(
    '/privacy/request/:id/phone',
    { config: { ...pageConfig, audit: { path: 'route' }, quota: contactViewQuota }, schema: { hide: true } },
    async (request, reply) => {
      const l = langOf(request, request.query.lang);
      const id = UUID.test(request.params.id) ? request.params.id.toLowerCase() : '';
      const state = id ? await app.contactRequests.state(id) : null;
      if (!state)
        return send(reply, 404, l, 'phone.gone.title', phoneGone(l), (lang) => withLang('/privacy/request', lang));
      return send(reply, 200, l, 'phone.title', phoneStep(l, id, state), (lang) =>
        withLang(`/privacy/request/${id}/phone`, lang),
      );
    },
  );

  // The forms' posts: their own content-type parser, in this scope only.
  await app.register(async (forms) => {
    forms.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 8192 },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );

    forms.post(
      '/privacy/request',
      { config: { ...pageConfig, quota: submitQuota }, schema: { hide: true } },
      async (request, reply) => {
        checked(request);
        const l = langOf(request, field(request.body, 'lang'));
        const values = {
          email: field(request.body, 'email'),
          kind: field(request.body, 'kind'),
          contact: field(request.body, 'contact'),
          details: field(request.body, 'details').slice(0, 2000),
        };
        const problem: PageKey | null = !EMAIL.test(values.email)
          ? 'form.error.email'
          : !(REQUEST_KINDS as readonly string[]).includes(values.kind)
            ? 'form.error.kind'
            : values.contact && !isE164(values.contact)
              ? 'form.error.contact'
              : null;
        if (problem)
          return send(reply, 400, l, 'form.title', requestForm(l, values, problem), (lang) =>
            withLang('/privacy/request', lang),
          );
        // The request is written in the page's language: its code, and every message about it.
        const { id } = await app.dataRights.intake.submit({
          email: values.email,
          kind: values.kind,
          contact: values.contact || null,
          details: values.details || null,
          lang: l.lang,
        });
        await sendRequestCode(app, id, values.email.toLowerCase(), l.lang);
        return reply.redirect(withLang(`/privacy/request/${id}`, l), 303);
      },
    );

    forms.post<{ Params: { id: string } }>(
      '/privacy/request/:id',
      { config: { ...pageConfig, audit: { path: 'route' }, quota: verifyQuota }, schema: { hide: true } },
      async (request, reply) => {
        checked(request);
        const l = langOf(request, field(request.body, 'lang'));
        const id = UUID.test(request.params.id) ? request.params.id.toLowerCase() : '';
        if (!id) return send(reply, 404, l, 'gone.title', gone(l), (lang) => withLang('/privacy/request', lang));
        const again = (lang: PageLanguage) => withLang(`/privacy/request/${id}`, lang);
        try {
          // A request read from the mailbox takes the language of the page its code is entered on.
          const done = await confirmRequest(app, id, field(request.body, 'code'), { lang: l.lang });
          return send(reply, 200, l, 'confirmed.title', confirmed(l, done));
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === 'HF_DATA_RIGHTS_CODE_INVALID')
            return send(reply, 400, l, 'code.title', codeForm(l, id, undefined, 'code.error.invalid'), again);
          if (code === 'HF_DATA_RIGHTS_CODE_EXPIRED')
            return send(reply, 410, l, 'code.title', codeForm(l, id, undefined, 'code.error.expired'), again);
          if (code === 'HF_DATA_RIGHTS_CODE_ATTEMPTS')
            return send(reply, 410, l, 'code.title', codeForm(l, id, undefined, 'code.error.attempts'), again);
          throw error;
        }
      },
    );

    forms.post<{ Params: { id: string } }>(
      '/privacy/request/:id/phone',
      { config: { ...pageConfig, audit: { path: 'route' }, quota: phoneCodeQuota }, schema: { hide: true } },
      async (request, reply) => {
        checked(request);
        const l = langOf(request, field(request.body, 'lang'));
        const id = UUID.test(request.params.id) ? request.params.id.toLowerCase() : '';
        const state = id ? await app.contactRequests.state(id) : null;
        const back = (lang: PageLanguage) => withLang(`/privacy/request/${id}/phone`, lang);
        if (!state)
          return send(reply, 404, l, 'phone.gone.title', phoneGone(l), (lang) => withLang('/privacy/request', lang));
        try {
          return send(reply, 200, l, 'send.title', codeToSend(l, id, await issueProof(app, id, reply)));
        } catch (error) {
          const code = (error as { code?: string }).code;
          if (code === 'HF_PRIVACY_CONTACT_PROVED')
            return send(reply, 200, l, 'phone.title', phoneStep(l, id, (await app.contactRequests.state(id))!), back);
          if (code === 'HF_PRIVACY_CONTACT_CODE_LIMIT')
            return send(reply, 429, l, 'phone.title', phoneStep(l, id, state, 'phone.error.limit'), back);
          if (code === 'HF_PRIVACY_WHATSAPP_NOT_CONFIGURED')
            return send(reply, 503, l, 'phone.title', phoneStep(l, id, state, 'phone.error.off'), back);
          throw error;
        }
      },
    );

    forms.post<{ Params: { id: string } }>(
      '/privacy/request/:id/code',
      { config: { ...pageConfig, audit: { path: 'route' }, quota: resendQuota }, schema: { hide: true } },
      async (request, reply) => {
        checked(request);
        const l = langOf(request, field(request.body, 'lang'));
        const id = request.params.id;
        const waiting = UUID.test(id) ? await app.dataRights.intake.waiting(id) : null;
        // In the language the request was asked in; one read from the mailbox without one: this page's.
        if (waiting)
          await sendRequestCode(app, id.toLowerCase(), waiting.address, languageOfTag(waiting.lang) ?? l.lang);
        return reply.redirect(withLang(`/privacy/request/${encodeURIComponent(id)}`, l, { sent: '1' }), 303);
      },
    );
  });
};

export default requestForms;
