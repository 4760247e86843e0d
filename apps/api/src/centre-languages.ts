/**
 * The privacy centre's languages (issue 32 item 7; the public form's and the emails' are languages.ts and notify's): English and Swahili, each a keyed catalogue of
 * whole sentences (`web/i18n/<language>.json`, `{name}` placeholders filled at use, never a sentence
 * assembled from translated parts), chosen per request: an explicit choice (`?lang=`, remembered in
 * the `hf_lang` cookie) first, else `Accept-Language`.
 */
import { negotiateLanguage } from '@harakaflow/notify';
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

/** The best supported language of an `Accept-Language` header: notify's reading of it (RFC 9110 §12.5.4, RFC 4647), English when nothing matches. */
export function fromAcceptLanguage(header: string | undefined): Language {
  return negotiateLanguage(header, LANGUAGES, 'en');
}
