/**
 * The privacy centre's languages (issue 32 item 7): English and Swahili, each a keyed catalogue of
 * whole sentences (`web/i18n/<language>.json`, `{name}` placeholders filled at use, never a sentence
 * assembled from translated parts), chosen per request: an explicit choice (`?lang=`, remembered in
 * the `hf_lang` cookie) first, else `Accept-Language`.
 */
import { readFileSync } from 'node:fs';

export const LANGUAGES = ['en', 'sw'] as const;
export type Language = (typeof LANGUAGES)[number];
/** The remembered choice: a strictly necessary preference (catalogued essential), Path=/privacy. */
export const LANGUAGE_COOKIE = 'hf_lang';

export type Catalogue = Record<string, string>;

const I18N = new URL('../web/i18n/', import.meta.url);
/** One language's catalogue, read from web/i18n. */
export function catalogue(language: Language): Catalogue {
  return JSON.parse(readFileSync(new URL(`${language}.json`, I18N), 'utf8')) as Catalogue;
}

/** `{name}` placeholders (and link targets, which the page's markup carries) in a text: what both catalogues must agree on. */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{[A-Za-z]+\}|\]\([^)\s]*\)/g)].map((m) => m[0]).sort();
}

/** A supported language named by a tag (`sw`, `sw-KE`, `EN-gb`), else undefined. */
export function languageOf(tag: string | undefined): Language | undefined {
  const primary = tag?.trim().toLowerCase().split('-')[0];
  return LANGUAGES.find((l) => l === primary);
}

/**
 * The best supported language of an `Accept-Language` header (RFC 9110 §12.5.4): the highest q
 * (`q=0` excludes; a malformed q counts as 0), the earlier on a tie; `*` any language not named,
 * English first. English when
 * nothing matches.
 */
export function fromAcceptLanguage(header: string | undefined): Language {
  const ranges = (header ?? '').split(',').map((part) => {
    const [tag = '', ...params] = part.split(';').map((s) => s.trim());
    const qText = params.find((p) => /^q\s*=/i.test(p))?.replace(/^q\s*=\s*/i, '');
    const q = qText === undefined ? 1 : /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(qText) ? Number(qText) : 0;
    return { tag, q };
  });
  const named = new Set(ranges.map((r) => languageOf(r.tag)));
  let best: { language: Language; q: number } | undefined;
  for (const { tag, q } of ranges) {
    // `*`: any language the header does not name (English first).
    const language = tag === '*' ? LANGUAGES.find((l) => !named.has(l)) : languageOf(tag);
    if (!language || q <= 0) continue;
    if (!best || q > best.q) best = { language, q };
  }
  return best?.language ?? 'en';
}
