/**
 * The one-click unsubscribe pages (RFC 8058), for a link opened in a browser: the page with the
 * button (GET), and the answer to its button (a POST whose Accept names HTML): done, or the link no
 * longer works. In the catalogues' languages (issue 32 item 7): `?lang=` (the page's switch, kept by
 * its form), else the browser's Accept-Language; `<html lang>`, Content-Language and
 * `Vary: Accept-Language`. Every text is a whole sentence of the catalogue, every value escaped; no
 * script, no style (the app's CSP applies as it is).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CATALOGUES,
  DEFAULT_LANGUAGE,
  isLanguage,
  LANGUAGES,
  negotiateLanguage,
  type Language,
  type MessageKey,
} from './languages.js';
import { escapeHtml } from './templates.js';

/** Each language by its own name (a reader finds theirs whatever the page's). */
const NAMES: Record<Language, string> = { en: 'English', sw: 'Kiswahili' };

/** The page's language: a link's choice (`?lang=`) when it is one of the catalogues', else Accept-Language. */
export function unsubscribeLanguage(request: FastifyRequest): { lang: Language; chosen: boolean } {
  const asked = (request.query as { lang?: unknown } | undefined)?.lang;
  if (isLanguage(asked)) return { lang: asked, chosen: true };
  return { lang: negotiateLanguage(request.headers['accept-language'], LANGUAGES, DEFAULT_LANGUAGE), chosen: false };
}

/** A catalogue text as HTML: its values filled, everything escaped. */
const text = (lang: Language, key: MessageKey, values: Record<string, string> = {}) =>
  escapeHtml(CATALOGUES[lang][key].replace(/\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g, (_, name: string) => values[name] ?? ''));

/** Whether an Accept header names HTML itself (a browser's form submission does). */
export const wantsHtml = (accept: string | undefined) =>
  accept !== undefined && /(^|,)\s*(text\/html|application\/xhtml\+xml)\s*(;|,|$)/i.test(accept);

/**
 * One page: `title` and `body` (HTML, already escaped) in `lang`; `switchTo(l)`, this page in `l`
 * (the GET page only: the answer to a POST has no address of its own).
 */
export function sendPage(
  reply: FastifyReply,
  status: number,
  lang: Language,
  title: MessageKey,
  body: string,
  switchTo?: (l: Language) => string,
) {
  const nav = switchTo
    ? `<nav aria-label="${text(lang, 'unsubscribe.page.languages')}">${LANGUAGES.map((l) => (l === lang ? `<span lang="${l}" aria-current="true">${NAMES[l]}</span>` : `<a href="${escapeHtml(switchTo(l))}" lang="${l}" hreflang="${l}">${NAMES[l]}</a>`)).join(' · ')}</nav>`
    : '';
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-language', lang)
    .header('vary', 'Accept-Language')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex, nofollow"><title>${text(lang, title)}</title></head><body>${nav}<h1>${text(lang, title)}</h1>${body}</body></html>`,
    );
}

/** The page with the button: its form posts the one-click body to the link (with the chosen language). */
export const questionBody = (lang: Language, action: string) =>
  `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><p>${text(lang, 'unsubscribe.page.question')}</p><button type="submit">${text(lang, 'unsubscribe.page.button')}</button></form>`;

export const doneBody = (lang: Language) => `<p>${text(lang, 'unsubscribe.done.body')}</p>`;
export const invalidBody = (lang: Language, days: number) =>
  `<p>${text(lang, 'unsubscribe.invalid.body', { days: String(days) })}</p>`;
