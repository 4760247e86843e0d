/**
 * Kinds and their templates. A template names texts of the language catalogues (languages.ts,
 * messages/*.ts): a subject and paragraphs, links and bare values, each text with `{{name}}`
 * placeholders. The same template serves both parts of a message in every language: the plain-text
 * part gets the values as they are, the HTML part gets every value escaped (and links' targets
 * escaped as attributes), so a business name cannot inject markup.
 * Every value is put on one line first (oneLine: control characters, line and paragraph separators
 * become a space, bidi overrides and isolates go), so a name cannot start a paragraph of its own
 * ("SECURITY ALERT ... Verify now at https://...", issue 30 item 6); subjects are one line too. A
 * placeholder the data lacks fails the render.
 *
 * Adding a kind: its texts in every catalogue (messages/en.ts says how), then its KindSpec in KINDS
 * (kinds.ts), choosing a text per case where the sentence changes with the data.
 */
import { TemplateData } from './errors.js';
import { KINDS } from './kinds.js';
import { CATALOGUES, DEFAULT_LANGUAGE, languageOf, type Language } from './languages.js';
import { DEFAULT_PRIVACY_CONTACT, KIND_LABELS, type Block } from './template-types.js';

const PLACEHOLDER = /\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g;

// eslint-disable-next-line no-control-regex -- control characters are what this removes
const BREAKS = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]+/g;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;

/** A template value on one line, as every message shows it. */
export function oneLine(value: string): string {
  return value.replace(BIDI, '').replace(BREAKS, ' ');
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** The values a template may show: strings and numbers as they are, dates as ISO dates. */
function display(value: unknown): string | undefined {
  if (typeof value === 'string') return oneLine(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (value instanceof Date) return value.toISOString();
  return undefined;
}

function fill(text: string, data: Record<string, unknown>, kind: string, escape: (s: string) => string): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = display(data[name]);
    if (value === undefined) throw new TemplateData(kind, name);
    return escape(value);
  });
}

export interface Rendered {
  subject: string;
  text: string;
  html: string;
  /** The language it is written in (its `Content-Language`). */
  lang: Language;
}

/**
 * Renders a kind's template with `data` into a subject and both parts, in `lang` (one of
 * LANGUAGES; anything else, or none, is English).
 */
export function render(kind: string, data: Record<string, unknown>, lang: unknown = DEFAULT_LANGUAGE): Rendered {
  const spec = KINDS[kind];
  if (!spec) throw new TemplateData(kind, 'a known kind');
  const language = languageOf(lang);
  const texts = CATALOGUES[language];
  const label = KIND_LABELS[String(data.kind)];
  let values: Record<string, unknown> = {
    privacyContact: DEFAULT_PRIVACY_CONTACT,
    ...data,
    kindLabel: label ? texts[label] : String(data.kind ?? ''),
  };
  if (spec.values) values = { ...values, ...spec.values(values, (key, v) => fill(texts[key], v, kind, (s) => s)) };
  const template = spec.template(values);
  const part = (b: Block, escape: (s: string) => string) =>
    typeof b === 'string'
      ? fill(texts[b], values, kind, escape)
      : 'value' in b
        ? fill(b.value, values, kind, escape)
        : { label: fill(texts[b.label], values, kind, escape), href: fill(b.href, values, kind, escape) };
  const plain = (s: string) => s;
  const subject = oneLine(fill(texts[template.subject], values, kind, plain)).slice(0, 200);
  const text = template.blocks
    .map((b) => part(b, plain))
    .map((p) => (typeof p === 'string' ? p : `${p.label}: ${p.href}`))
    .join('\n\n');
  const html = [
    `<!doctype html><html lang="${language}"><head><meta charset="utf-8"></head><body>`,
    ...template.blocks
      .map((b) => part(b, escapeHtml))
      .map((p) => (typeof p === 'string' ? `<p>${p}</p>` : `<p><a href="${p.href}">${p.label}</a></p>`)),
    '</body></html>',
  ].join('\n');
  return { subject, text: `${text}\n`, html, lang: language };
}
