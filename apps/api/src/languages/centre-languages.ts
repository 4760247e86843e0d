/**
 * The privacy centre's languages (issue 32 item 7; the public form's and the emails' are languages.ts and notify's):
 * English and Swahili, each a keyed catalogue of
 * whole sentences (`web/i18n/<language>.json`, `{name}` placeholders filled at use, never a sentence
 * assembled from translated parts), chosen per request: an explicit choice (`?lang=`, remembered in
 * the `hf_lang` cookie) first, else `Accept-Language`.
 */
import { negotiateLanguage } from '@harakaflow/notify';
import { readFileSync } from 'node:fs';
import { PAGE_LANGUAGES, type PageLanguage } from './languages.js';

/** The page's languages: the app's (languages.ts), one list for the page, the form and the emails. */
export const LANGUAGES = PAGE_LANGUAGES;
export type Language = PageLanguage;

export type Catalogue = Record<string, string>;

const I18N = new URL('../../web/i18n/', import.meta.url);
/** One language's catalogue, read from web/i18n. */
export function catalogue(language: Language): Catalogue {
  return JSON.parse(readFileSync(new URL(`${language}.json`, I18N), 'utf8')) as Catalogue;
}

/**
 * `{name}` placeholders (and link targets, which the page's markup carries) in a text: what both catalogues must agree
 * on.
 */
export function placeholders(text: string): string[] {
  return [...text.matchAll(/\{[A-Za-z]+\}|\]\([^)\s]*\)/g)].map((m) => m[0]).sort();
}

/**
 * The best supported language of an `Accept-Language` header: notify's reading of it (RFC 9110 §12.5.4, RFC 4647),
 * English when nothing matches.
 */
export function fromAcceptLanguage(header: string | undefined): Language {
  return negotiateLanguage(header, LANGUAGES, 'en');
}
