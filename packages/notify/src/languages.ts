/**
 * The languages messages are written in (issue 32 item 7: English and Swahili, the customers'
 * contacts being largely +254 numbers), their catalogues, and the choice of one from an HTTP
 * `Accept-Language` header. A message's language is chosen when it is queued and kept on its
 * outbox row (`lang`; none: English), so every retry says the same thing in the same language.
 *
 * Adding a language: its catalogue beside en.ts (typed `Catalogue`: the compiler lists every key
 * it lacks), its code in LANGUAGES and CATALOGUES below; test/languages.test.ts then checks that
 * no text is empty and that each has the placeholders of its English text.
 */
import type { Catalogue } from './messages/catalogue.js';
import { en } from './messages/en.js';
import { sw } from './messages/sw.js';

export type { Catalogue, MessageKey } from './messages/catalogue.js';

/** The languages of the catalogues, the default first. */
export const LANGUAGES = ['en', 'sw'] as const;
export type Language = (typeof LANGUAGES)[number];
/** Messages with no language chosen, or one without a catalogue, are in English. */
export const DEFAULT_LANGUAGE: Language = 'en';

/** Each language's texts. Read-only: a text changed at run time would change messages already promised. */
export const CATALOGUES: Readonly<Record<Language, Catalogue>> = Object.freeze({
  en: Object.freeze({ ...en }),
  sw: Object.freeze({ ...sw }),
});

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** A stored or given language as one of the catalogues': anything else (none, an unknown code) is English. */
export function languageOf(value: unknown): Language {
  return isLanguage(value) ? value : DEFAULT_LANGUAGE;
}

/** The `{{name}}` placeholders of a text, in order. */
export function placeholdersOf(text: string): string[] {
  return [...text.matchAll(/\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g)].map((m) => m[1]!);
}

// RFC 9110 §12.5.4: language-range (RFC 4647 §2.1) [ OWS ";" OWS "q=" qvalue ].
const RANGE = /^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$/i;
const QVALUE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;
/** A header longer than this, or with more ranges, is read up to there: no browser sends one. */
const MAX_HEADER = 1024;
const MAX_RANGES = 32;

/** An `Accept-Language` header's ranges with their weights, in order; malformed entries are skipped. */
export function parseAcceptLanguage(header: string): { range: string; q: number }[] {
  const out: { range: string; q: number }[] = [];
  for (const entry of header.slice(0, MAX_HEADER).split(',').slice(0, MAX_RANGES)) {
    const [first, ...params] = entry.split(';');
    const range = first!.trim();
    if (!RANGE.test(range)) continue;
    let q = 1;
    let bad = false;
    for (const param of params) {
      const [name, value] = param.split('=', 2) as [string, string | undefined];
      if (name.trim().toLowerCase() !== 'q') continue;
      if (value === undefined || !QVALUE.test(value.trim())) bad = true;
      else q = Number(value.trim());
    }
    if (!bad) out.push({ range: range.toLowerCase(), q });
  }
  return out;
}

/**
 * The supported language an `Accept-Language` header prefers, else `fallback`. A range counts for
 * the language of its primary subtag (`sw-KE`, `sw-TZ` and `sw` are Swahili); a language's weight is
 * the highest of its ranges (all of them `q=0`: refused), else that of `*`; the highest weight wins,
 * a tie going to the range named first, then to the order of `supported`. Never throws: anything
 * that is not a header gives `fallback`.
 */
export function negotiateLanguage<L extends string>(header: unknown, supported: readonly L[], fallback: L): L {
  if (typeof header !== 'string' || !header) return fallback;
  const ranges = parseAcceptLanguage(header);
  const star = ranges.findIndex((r) => r.range === '*');
  let best: { lang: L; q: number; at: number } | null = null;
  for (const lang of supported) {
    let q = -1;
    let at = Infinity;
    ranges.forEach((r, i) => {
      if (r.range.split('-')[0] !== lang.toLowerCase()) return;
      if (r.q > q) [q, at] = [r.q, i];
    });
    if (q < 0 && star >= 0) [q, at] = [ranges[star]!.q, star];
    if (q <= 0) continue;
    if (!best || q > best.q || (q === best.q && at < best.at)) best = { lang, q, at };
  }
  return best?.lang ?? fallback;
}

/** The language of the catalogues an `Accept-Language` header prefers (English when it names none of them). */
export function preferredLanguage(header: unknown): Language {
  return negotiateLanguage(header, LANGUAGES, DEFAULT_LANGUAGE);
}
