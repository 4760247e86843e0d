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
import { REQUEST_KINDS, type RightsRequest } from '@harakaflow/data-rights';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SessionCsrf } from '../../http/errors.js';
import { utcMinute } from '../../data/dates.js';
import {
  isPageLanguage,
  languageOfTag,
  languageSwitch,
  pageLanguage,
  pageText,
  plainText,
  varyByLanguage,
  type PageKey,
  type PageLanguage,
} from '../../languages/languages.js';
import { sendRequestCode } from '../../privacy/rights-intake.js';
import { confirmRequest, issueProof, maskPhone } from '../../privacy/contact-requests.js';
import { objectionDetails, type Subprocessor } from '../../privacy/subprocessors.js';
import type { Routes } from '../../http/schema-types.js';
import { sameOriginForm } from './centre.js';
import { asPage, html, page } from './exports.js';
import { contactViewQuota, phoneCodeQuota, resendQuota, submitQuota, verifyQuota } from './public-request-limits.js';

const KIND_NAMES: Record<(typeof REQUEST_KINDS)[number], PageKey> = {
  access: 'form.kind.access',
  portability: 'form.kind.portability',
  correction: 'form.kind.correction',
  deletion: 'form.kind.deletion',
  restriction: 'form.kind.restriction',
  objection: 'form.kind.objection',
  withdraw_consent: 'form.kind.withdraw_consent',
};
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | null)?.[name];
  return typeof v === 'string' ? v.trim() : '';
};

/**
 * The language of one of these pages (issue 32 item 7): `lang` the one it is written in; `chosen`
 * when a link or the form chose it (`?lang=`, the forms' hidden `lang`): it is then carried by the
 * forms, their redirects and links; otherwise the browser's Accept-Language decides again each time.
 */
interface Lang {
  lang: PageLanguage;
  chosen: boolean;
}
const langOf = (request: FastifyRequest, chosen: unknown): Lang => ({
  lang: pageLanguage(request, chosen),
  chosen: isPageLanguage(chosen),
});
/** The forms' hidden field that keeps a chosen language through their POSTs. */
const keep = (l: Lang) => (l.chosen ? `\n  <input type="hidden" name="lang" value="${l.lang}">` : '');
/** `path` with the chosen language in its query (and `query`'s other values). */
const withLang = (path: string, l: Lang | PageLanguage | null, query: Record<string, string> = {}) => {
  const lang = typeof l === 'string' ? l : l?.chosen ? l.lang : null;
  const q = new URLSearchParams({ ...query, ...(lang ? { lang } : {}) }).toString();
  return q ? `${path}?${q}` : path;
};

/**
 * The headers of these pages: the privacy centre's CSP, `same-origin` referrers (a form POST then
 * carries this site's Origin), never cached; `Vary: Accept-Language`. `switchTo`: this page in
 * another language (a GET), for the switch; none where a page has no address of its own.
 */
const send = (
  reply: FastifyReply,
  status: number,
  l: Lang,
  title: PageKey,
  body: string,
  switchTo?: (lang: PageLanguage) => string,
) =>
  varyByLanguage(asPage(reply, status))
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-store')
    .header('content-language', l.lang)
    .send(
      page(plainText(l.lang, title), body, {
        lang: l.lang,
        nav: switchTo ? languageSwitch(l.lang, switchTo) : undefined,
      }),
    );

function requestForm(l: Lang, values: Record<string, string> = {}, error?: PageKey): string {
  const t = (key: PageKey) => pageText(l.lang, key);
  const options = REQUEST_KINDS.map(
    (k) => `<option value="${k}"${values.kind === k ? ' selected' : ''}>${t(KIND_NAMES[k])}</option>`,
  ).join('');
  return `${error ? `<p class="notice" role="alert">${t(error)}</p>\n` : ''}<p>${t('form.intro')}</p>
<form method="post" action="/privacy/request">${keep(l)}
  <label for="email">${t('form.email')}</label>
  <input id="email" name="email" type="email" required maxlength="254" autocomplete="email" value="${html(values.email ?? '')}">
  <label for="kind">${t('form.kind')}</label>
  <select id="kind" name="kind" required>${options}</select>
  <label for="contact">${t('form.contact')}</label>
  <input id="contact" name="contact" type="tel" maxlength="16" autocomplete="tel" value="${html(values.contact ?? '')}">
  <label for="details">${t('form.details')}</label>
  <textarea id="details" name="details" maxlength="2000" rows="4">${html(values.details ?? '')}</textarea>
  <button type="submit">${t('form.submit')}</button>
</form>
<p>${pageText(l.lang, 'form.centre', {}, '/privacy')}</p>`;
}

function codeForm(l: Lang, id: string, notice?: PageKey, error?: PageKey): string {
  const t = (key: PageKey) => pageText(l.lang, key);
  return `${error ? `<p class="notice" role="alert">${t(error)}</p>\n` : ''}${notice ? `<p class="status" role="status">${t(notice)}</p>\n` : ''}<p>${t('code.intro')}</p>
<form method="post" action="/privacy/request/${id}">${keep(l)}
  <label for="code">${t('code.code')}</label>
  <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7" spellcheck="false">
  <button type="submit">${t('code.submit')}</button>
</form>
<form method="post" action="/privacy/request/${id}/code">${keep(l)}
  <button type="submit" class="link">${t('code.resend')}</button>
</form>`;
}

const gone = (l: Lang) =>
  `<p>${pageText(l.lang, 'gone.body')}</p>\n<p>${pageText(l.lang, 'gone.again', {}, withLang('/privacy/request', l))}</p>`;

const confirmed = (l: Lang, r: RightsRequest) =>
  `<p class="status" role="status">${pageText(l.lang, 'confirmed.status')}</p>
<p>${pageText(l.lang, 'confirmed.due', { dueDate: utcMinute(r.extendedDueAt ?? r.dueAt), id: r.id })}</p>${
    r.contact
      ? `\n<p>${pageText(l.lang, 'confirmed.phone')}</p>\n<p>${pageText(l.lang, 'confirmed.phone.link', {}, withLang(`/privacy/request/${r.id}/phone`, l))}</p>`
      : ''
  }
<p>${pageText(l.lang, 'confirmed.questions')}</p>`;

/** The number's step (issue 32 item 3): proved and passed on, or a button that shows a code. */
function phoneStep(
  l: Lang,
  id: string,
  state: { phone: string; proved: boolean; forwarded: number | null },
  error?: PageKey,
): string {
  const phone = maskPhone(state.phone);
  if (state.proved) {
    const n = state.forwarded ?? 0;
    const told = n === 0 ? 'phone.forwarded.none' : n === 1 ? 'phone.forwarded.one' : 'phone.forwarded.many';
    return `<p class="status" role="status">${pageText(l.lang, 'phone.proved', { phone })}</p>\n<p>${pageText(l.lang, told, { count: String(n) })}</p>`;
  }
  return `${error ? `<p class="notice" role="alert">${pageText(l.lang, error)}</p>\n` : ''}<p>${pageText(l.lang, 'phone.intro', { phone })}</p>
<form method="post" action="/privacy/request/${html(id)}/phone">${keep(l)}
  <button type="submit">${pageText(l.lang, 'phone.show')}</button>
</form>`;
}

function codeToSend(
  l: Lang,
  id: string,
  issued: { code: string; sendTo: string; phone: string; expiresAt: string; whatsappUrl: string },
): string {
  return `<p>${pageText(l.lang, 'send.how', { phone: issued.phone, sendTo: issued.sendTo, expiresAt: utcMinute(issued.expiresAt) })}</p>
<p class="code"><strong>${html(issued.code)}</strong></p>
<p>${pageText(l.lang, 'send.open', {}, issued.whatsappUrl)}</p>
<p>${pageText(l.lang, 'send.check', {}, withLang(`/privacy/request/${id}/phone`, l))}</p>`;
}

const phoneGone = (l: Lang) =>
  `<p>${pageText(l.lang, 'phone.gone.body')}</p>\n<p>${pageText(l.lang, 'gone.again', {}, withLang('/privacy/request', l))}</p>`;

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
            : values.contact && !E164.test(values.contact)
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
