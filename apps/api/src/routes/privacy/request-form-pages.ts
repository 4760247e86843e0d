// The public request form's pages: their HTML, headers and language, each text from the page's catalogue.
import { REQUEST_KINDS, type RightsRequest } from '@harakaflow/data-rights';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { utcMinute } from '../../data/dates.js';
import {
  isPageLanguage,
  languageSwitch,
  pageLanguage,
  pageText,
  plainText,
  varyByLanguage,
  type PageKey,
  type PageLanguage,
} from '../../languages/languages.js';
import { maskPhone } from '../../privacy/contact-requests.js';
import { asPage, html, page } from './exports.js';

export const KIND_NAMES: Record<(typeof REQUEST_KINDS)[number], PageKey> = {
  access: 'form.kind.access',
  portability: 'form.kind.portability',
  correction: 'form.kind.correction',
  deletion: 'form.kind.deletion',
  restriction: 'form.kind.restriction',
  objection: 'form.kind.objection',
  withdraw_consent: 'form.kind.withdraw_consent',
};
export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | null)?.[name];
  return typeof v === 'string' ? v.trim() : '';
};

/**
 * The language of one of these pages (issue 32 item 7): `lang` the one it is written in; `chosen`
 * when a link or the form chose it (`?lang=`, the forms' hidden `lang`): it is then carried by the
 * forms, their redirects and links; otherwise the browser's Accept-Language decides again each time.
 */
export interface Lang {
  lang: PageLanguage;
  chosen: boolean;
}
export const langOf = (request: FastifyRequest, chosen: unknown): Lang => ({
  lang: pageLanguage(request, chosen),
  chosen: isPageLanguage(chosen),
});
/** The forms' hidden field that keeps a chosen language through their POSTs. */
export const keep = (l: Lang) => (l.chosen ? `\n  <input type="hidden" name="lang" value="${l.lang}">` : '');
/** `path` with the chosen language in its query (and `query`'s other values). */
export const withLang = (path: string, l: Lang | PageLanguage | null, query: Record<string, string> = {}) => {
  const lang = typeof l === 'string' ? l : l?.chosen ? l.lang : null;
  const q = new URLSearchParams({ ...query, ...(lang ? { lang } : {}) }).toString();
  return q ? `${path}?${q}` : path;
};

/**
 * The headers of these pages: the privacy centre's CSP, `same-origin` referrers (a form POST then
 * carries this site's Origin), never cached; `Vary: Accept-Language`. `switchTo`: this page in
 * another language (a GET), for the switch; none where a page has no address of its own.
 */
export const send = (
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

export function requestForm(l: Lang, values: Record<string, string> = {}, error?: PageKey): string {
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

export function codeForm(l: Lang, id: string, notice?: PageKey, error?: PageKey): string {
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

export const gone = (l: Lang) =>
  `<p>${pageText(l.lang, 'gone.body')}</p>\n<p>${pageText(l.lang, 'gone.again', {}, withLang('/privacy/request', l))}</p>`;

export const confirmed = (l: Lang, r: RightsRequest) =>
  `<p class="status" role="status">${pageText(l.lang, 'confirmed.status')}</p>
<p>${pageText(l.lang, 'confirmed.due', { dueDate: utcMinute(r.extendedDueAt ?? r.dueAt), id: r.id })}</p>${
    r.contact
      ? `\n<p>${pageText(l.lang, 'confirmed.phone')}</p>\n<p>${pageText(l.lang, 'confirmed.phone.link', {}, withLang(`/privacy/request/${r.id}/phone`, l))}</p>`
      : ''
  }
<p>${pageText(l.lang, 'confirmed.questions')}</p>`;

/** The number's step (issue 32 item 3): proved and passed on, or a button that shows a code. */
export function phoneStep(
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

export function codeToSend(
  l: Lang,
  id: string,
  issued: { code: string; sendTo: string; phone: string; expiresAt: string; whatsappUrl: string },
): string {
  return `<p>${pageText(l.lang, 'send.how', { phone: issued.phone, sendTo: issued.sendTo, expiresAt: utcMinute(issued.expiresAt) })}</p>
<p class="code"><strong>${html(issued.code)}</strong></p>
<p>${pageText(l.lang, 'send.open', {}, issued.whatsappUrl)}</p>
<p>${pageText(l.lang, 'send.check', {}, withLang(`/privacy/request/${id}/phone`, l))}</p>`;
}

export const phoneGone = (l: Lang) =>
  `<p>${pageText(l.lang, 'phone.gone.body')}</p>\n<p>${pageText(l.lang, 'gone.again', {}, withLang('/privacy/request', l))}</p>`;
