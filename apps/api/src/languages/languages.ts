/**
 * The people's languages (issue 32 item 7): which language a page answers in and a request's
 * messages are written in. The pages' texts are the app's catalogues (messages/en.ts, sw.ts); the
 * emails' are @harakaflow/notify's, in the same languages (a language here is one notify writes).
 *
 * A page's language: the one a link or the form chose (`?lang=sw`, the forms' hidden `lang`),
 * else the one chosen on the privacy centre's switch (its `hf_lang` cookie), else the browser's `Accept-Language`
 * (`sw`, `sw-KE`, `sw-TZ`: Swahili; anything else English).
 * A request's: the same for the form and the privacy centre; for an API client, the body's `lang`,
 * else its `Accept-Language` when it sends one, else none (English, or the account's preference).
 */
import { negotiateLanguage, type Language } from '@harakaflow/notify';
import { isLanguage } from '@harakaflow/notify/internals';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { en } from './messages/en.js';
import { sw } from './messages/sw.js';

export type { PageCatalogue, PageKey } from './messages/catalogue.js';
import type { PageCatalogue, PageKey } from './messages/catalogue.js';
/**
 * A language chosen on the privacy centre's switch, remembered for its pages and the form: a strictly necessary
 * preference (catalogued essential), Path=/privacy.
 */
export const LANGUAGE_COOKIE = 'hf_lang';

/** The pages' languages, the default first: each also a language of notify's catalogues (the type says so). */
export const PAGE_LANGUAGES = ['en', 'sw'] as const satisfies readonly Language[];
export type PageLanguage = (typeof PAGE_LANGUAGES)[number];
export const PAGE_CATALOGUES: Readonly<Record<PageLanguage, PageCatalogue>> = Object.freeze({
  en: Object.freeze({ ...en }),
  sw: Object.freeze({ ...sw }),
});
/** Each language by its own name (the switch shows them so: a reader finds theirs whatever the page's). */
export const LANGUAGE_NAMES: Readonly<Record<PageLanguage, string>> = { en: 'English', sw: 'Kiswahili' };

export const isPageLanguage = (value: unknown): value is PageLanguage =>
  typeof value === 'string' && (PAGE_LANGUAGES as readonly string[]).includes(value) && isLanguage(value);

/**
 * The language a page answers in: `chosen` (a link's or a form's) when it is one of ours, else the request's
 * Accept-Language.
 */
export function pageLanguage(request: FastifyRequest, chosen?: unknown): PageLanguage {
  if (isPageLanguage(chosen)) return chosen;
  // The choice made on the privacy centre's switch (its `hf_lang` cookie, Path=/privacy) holds here too.
  const remembered = (request.cookies as Record<string, string | undefined> | undefined)?.[LANGUAGE_COOKIE];
  return isPageLanguage(remembered)
    ? remembered
    : negotiateLanguage(request.headers['accept-language'], PAGE_LANGUAGES, 'en');
}

/**
 * The language an API request asks in: `chosen` (the body's `lang`, checked by its schema), else
 * its Accept-Language when it sends one, else null (none chosen: English, or the account's own).
 */
export function askedLanguage(request: FastifyRequest, chosen?: unknown): PageLanguage | null {
  if (isPageLanguage(chosen)) return chosen;
  const header = request.headers['accept-language'];
  return typeof header === 'string' && header.trim() ? negotiateLanguage(header, PAGE_LANGUAGES, 'en') : null;
}

/** A request's language tag (data-rights keeps any BCP 47 tag: `sw-ke`) as one of ours, or null. */
export function languageOfTag(tag: unknown): PageLanguage | null {
  const primary = typeof tag === 'string' ? tag.split('-')[0]!.toLowerCase() : null;
  return isPageLanguage(primary) ? primary : null;
}

/** A page that depends on Accept-Language (and the hf_lang cookie) says so to caches. */
export const varyByLanguage = (reply: FastifyReply) => reply.header('vary', 'Accept-Language, Cookie');

/** Text as HTML: the five characters that matter escaped. */
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * A page text as HTML, in `lang`: its `{{name}}` values escaped, its `<link>` the one link (to
 * `href`), its `<strong>` emphasis; everything else escaped. A value it lacks is an empty string
 * (the catalogue test keeps every text's values known).
 */
export function pageText(lang: PageLanguage, key: PageKey, values: Record<string, string> = {}, href?: string): string {
  return PAGE_CATALOGUES[lang][key]
    .split(/(<\/?(?:link|strong)>)/)
    .map((part) => {
      if (part === '<link>') return `<a href="${escape(href ?? '#')}">`;
      if (part === '</link>') return '</a>';
      if (part === '<strong>' || part === '</strong>') return part;
      return escape(part.replace(/\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g, (_, name: string) => values[name] ?? ''));
    })
    .join('');
}

/** A page text as plain text (a title, a value the page escapes itself), its values filled. */
export function plainText(lang: PageLanguage, key: PageKey, values: Record<string, string> = {}): string {
  return PAGE_CATALOGUES[lang][key]
    .replace(/<\/?(?:link|strong)>/g, '')
    .replace(/\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g, (_, name: string) => values[name] ?? '');
}

/**
 * The language switch: plain links (no script), each language by its own name, the current one
 * marked; `hrefOf(lang)` is this page in that language.
 */
export function languageSwitch(lang: PageLanguage, hrefOf: (lang: PageLanguage) => string): string {
  const items = PAGE_LANGUAGES.map((l) =>
    l === lang
      ? `<span lang="${l}" aria-current="true">${escape(LANGUAGE_NAMES[l])}</span>`
      : `<a href="${escape(hrefOf(l))}" lang="${l}" hreflang="${l}">${escape(LANGUAGE_NAMES[l])}</a>`,
  );
  return `<nav class="languages" aria-label="${escape(PAGE_CATALOGUES[lang]['nav.languages'])}">${items.join(' · ')}</nav>`;
}
