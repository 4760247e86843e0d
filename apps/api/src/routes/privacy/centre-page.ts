// The privacy centre's page in each language: index.html's markers filled from the catalogues, and the language a
// request gets.
import type { FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { OBJECTION_PURPOSES } from '../../privacy/article15.js';
import { catalogue, LANGUAGES, type Language } from '../../languages/centre-languages.js';
import { isPageLanguage, pageLanguage as languageOfPage } from '../../languages/languages.js';
import { WEB } from './centre-assets.js';
import { html } from './exports.js';

/**
 * A catalogue text as HTML: escaped, then its only markup (`**strong**`, `*emphasis*`, a
 * `[link](/same-site/path)`) made elements and its `{name}` placeholders filled with the HTML
 * `values` give.
 */
export function markup(text: string, values: Record<string, string> = {}): string {
  return html(text)
    .replace(/\[([^\]]+)\]\((\/[^)\s]*)\)/g, '<a href="$2">$1</a>')
    .replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>')
    .replace(/\*(.+?)\*/g, '<em>$1</em>')
    .replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** The language of a request to the page: `?lang=` (the switch), the `hf_lang` cookie, else `Accept-Language`. */
export function pageLanguage(request: FastifyRequest): { language: Language; chosen: boolean } {
  const asked = (request.query as { lang?: unknown } | undefined)?.lang;
  return { language: languageOfPage(request, asked), chosen: isPageLanguage(asked) };
}

/**
 * index.html in every language, its markers filled but the visitor's state (`{{decided}}` and the
 * like, filled per request).
 */
export function pageTemplates(o: {
  privacyContact?: string | undefined;
  analyticsDefault: 'granted' | 'denied';
}): Record<Language, string> {
  const source = readFileSync(new URL('index.html', WEB), 'utf8');
  const contact = html(o.privacyContact ?? 'privacy@harakaflow.io');
  /** index.html in one language: every `{{t:key}}` from its catalogue (a key it lacks stops the start). */
  const render = (language: Language): string => {
    const texts = catalogue(language);
    const text = (key: string) => {
      const value = texts[key];
      if (value === undefined) throw new Error(`web/i18n/${language}.json has no "${key}"`);
      return markup(value, {
        email: '<span id="account-email"></span>',
        contact: `<a href="mailto:${contact}">${contact}</a>`,
      });
    };
    // The uses an objection can name (§2, the list the API accepts), in this language's words.
    const purposes = OBJECTION_PURPOSES.map((p) => `<option value="${p}">${text(`page.purpose.${p}`)}</option>`).join(
      '',
    );
    // The script's texts: a JSON data block (`<` escaped, so nothing in it can close the element).
    const script = Object.fromEntries([
      ['locale', texts.locale],
      ...Object.entries(texts).flatMap(([k, v]) => (k.startsWith('js.') ? [[k.slice(3), v]] : [])),
    ]);
    return source
      .replace('{{scriptText}}', () => JSON.stringify(script).replace(/</g, '\\u003c'))
      .replace('{{objectionPurposes}}', () => purposes)
      .replace('{{analyticsText}}', () => text(`page.banner.analytics.${o.analyticsDefault}`))
      .replace('{{lang}}', language)
      .replace(/\{\{current\.(\w+)\}\}/g, (_, l: string) => (l === language ? 'aria-current="true"' : ''))
      .replace(/\{\{t:([\w.]+)\}\}/g, (_, key: string) => text(key));
  };
  return Object.fromEntries(LANGUAGES.map((l) => [l, render(l)])) as Record<Language, string>;
}
