/**
 * What Article 15(1) and (2) GDPR require an answer to a person's access request to say besides the
 * data itself (issue 32 item 5): the purposes, the categories of data held, the recipients, how
 * long each kind is kept, where the data came from, transfers abroad with their safeguards, and the
 * rights with how to use them. The host builds it from its registries (the plugin cannot know a
 * service's purposes or processors) for each export, knowing which parts hold records; the export
 * carries it as the document's `article15` section, its readable form as `article15.html` (a zip
 * entry, and `article15Html` in the JSON), both hashed in the signed manifest.
 */
import type { SubjectRef } from '@harakaflow/core';

/** One thing the statement lists, and the export parts (handler names) it applies to. */
export interface Article15Item {
  /** Stable key (`service`, `technical`...), for a program reading the statement. */
  key: string;
  /** What it is, in the policy's words. */
  text: string;
  /** The parts of this export it applies to. */
  parts: string[];
}

export interface Article15 {
  /** Who answers: the controller and how to reach them. */
  controller: { name: string; contact: string };
  /** Art. 15(1)(a): why the data is processed (the policy's list, those that apply). */
  purposes: Article15Item[];
  /** Art. 15(1)(b): the categories of data this export holds. */
  categories: Article15Item[];
  /**
   * Art. 15(1)(c): who has received or will receive it (the processor register): `since` and
   * `until` (YYYY-MM-DD) when the provider's service starts after, or ended before, the export.
   */
  recipients: {
    name: string;
    purpose: string;
    dataCategories: string[];
    location: string;
    since?: string | undefined;
    until?: string | undefined;
  }[];
  /** Art. 15(1)(d): how long each class of data in this export is kept (the retention registry). */
  retention: { class: string; policyClause: string; periodDays: number | null; parts: string[] }[];
  /** Art. 15(1)(g): where each part's data came from. */
  sources: { part: string; source: string }[];
  /** Art. 15(2): transfers outside the country of collection, and their safeguard. */
  transfers: { recipient: string; location: string; safeguard: string }[];
  /** Art. 15(1)(e), (f): the rights, and how to use each. */
  rights: { right: string; how: string }[];
  /** Art. 15(1)(h): automated decisions with legal or similar effects (none, or what they are). */
  automatedDecisions: string;
}

/**
 * What the host's builder is given: the subject and every part of the export with its record
 * count, whether it holds anything about the person (`holds`), and the retention classes its
 * handler names.
 */
export interface Article15Input {
  ref: SubjectRef;
  parts: readonly { name: string; records: number; holds: boolean; retentionClasses: readonly string[] }[];
  /** When the export is made (ISO 8601): the day the statement speaks of. */
  generatedAt: string;
}

/**
 * Whether a part's value holds anything: a streamed part with a record does; a one-value part
 * unless it is null, or lists and objects of nothing but that (`{ "endpoints": [] }`), looked at
 * three levels deep (deeper, whatever is there counts).
 */
export function holdsData(value: unknown, depth = 0): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value !== 'object') return true;
  if (depth >= 3) return true;
  return Array.isArray(value)
    ? value.some((v) => holdsData(v, depth + 1))
    : Object.values(value).some((v) => holdsData(v, depth + 1));
}

export type Article15Builder = (input: Article15Input) => Article15 | Promise<Article15>;

// Everything JSON.stringify would escape inside a string (", \, control characters) and what HTML
// needs escaped, as character references: the HTML text is then its own JSON string body, so the
// zip entry is cut from the stored document byte for byte (the JSON `article15Html` holds the same).
const ESCAPE =
  // eslint-disable-next-line no-control-regex
  /[&<>"'\\\u0000-\u001f\u007f\u2028\u2029]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const escape = (text: string): string =>
  text.replace(ESCAPE, (c) => {
    const code = c.charCodeAt(0);
    // A lone surrogate is not a character: U+FFFD, as a UTF-8 encoder would write it.
    return code >= 0xd800 && code <= 0xdfff ? '&#xfffd;' : `&#${code};`;
  });

const list = (items: readonly string[]) =>
  items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '<p>None.</p>';
const parts = (names: readonly string[]) => (names.length ? ` <small>(${names.map(escape).join(', ')})</small>` : '');

/**
 * The statement as a small HTML page that needs no network, script or style sheet to read. Every
 * value is escaped; the result contains no character a JSON string would escape (checked).
 */
export function article15Html(s: Article15, generatedAt: string): string {
  const days = (d: number | null) => (d === null ? 'as set out in the clause' : `${d} days`);
  const html =
    `<!doctype html><html lang='en'><head><meta charset='utf-8'><title>What we hold about you and why</title></head><body>` +
    `<h1>What we hold about you and why</h1><p>${escape(s.controller.name)}, ${escape(s.controller.contact)}. Made ${escape(generatedAt)} with the export beside it (Article 15 GDPR).</p>` +
    `<h2>Why we process it</h2>${list(s.purposes.map((p) => `${escape(p.text)}${parts(p.parts)}`))}` +
    `<h2>What kinds of data this export holds</h2>${list(s.categories.map((c) => `${escape(c.text)}${parts(c.parts)}`))}` +
    `<h2>How long each is kept</h2>${list(s.retention.map((r) => `${escape(r.class)}: ${escape(days(r.periodDays))}. ${escape(r.policyClause)}${parts(r.parts)}`))}` +
    `<h2>Where it came from</h2>${list(s.sources.map((x) => `${escape(x.part)}: ${escape(x.source)}`))}` +
    `<h2>Who receives it</h2>${list(s.recipients.map((r) => `${escape(r.name)}, ${escape(r.location)}: ${escape(r.purpose)} (${r.dataCategories.map(escape).join(', ')})${r.since ? `, from ${escape(r.since)}` : ''}${r.until ? `, until ${escape(r.until)}` : ''}`))}` +
    `<h2>Transfers abroad and their safeguards</h2>${list(s.transfers.map((t) => `${escape(t.recipient)}, ${escape(t.location)}: ${escape(t.safeguard)}`))}` +
    `<h2>Automated decisions</h2><p>${escape(s.automatedDecisions)}</p>` +
    `<h2>Your rights and how to use them</h2>${list(s.rights.map((r) => `<strong>${escape(r.right)}</strong>: ${escape(r.how)}`))}` +
    `</body></html>`;
  if (JSON.stringify(html) !== `"${html}"`)
    throw new Error('article15Html: the page holds a character a JSON string escapes');
  return html;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const texts = (v: unknown): string[] | null => (Array.isArray(v) && v.every(isText) ? [...v] : null);
const each = <T>(v: unknown, one: (x: Record<string, unknown>) => T | null): T[] | null => {
  if (!Array.isArray(v)) return null;
  const out: T[] = [];
  for (const x of v) {
    const y = x !== null && typeof x === 'object' ? one(x as Record<string, unknown>) : null;
    if (y === null) return null;
    out.push(y);
  }
  return out;
};
const optionalText = (v: unknown): string | undefined | null => (v === undefined ? undefined : isText(v) ? v : null);

/**
 * A builder's answer as the statement, copied field by field (nothing else it carries reaches the
 * signed document, and no getter or toJSON can make the JSON and the page differ), or null when it
 * does not have the statement's shape.
 */
export function normalizeArticle15(v: unknown): Article15 | null {
  if (v === null || typeof v !== 'object') return null;
  const s = v as Record<string, unknown>;
  const controller = s.controller as Record<string, unknown> | null | undefined;
  if (!controller || typeof controller !== 'object' || !isText(controller.name) || !isText(controller.contact))
    return null;
  const item = (i: Record<string, unknown>) => {
    const parts = texts(i.parts);
    return isText(i.key) && isText(i.text) && parts ? { key: i.key, text: i.text, parts } : null;
  };
  const purposes = each(s.purposes, item);
  const categories = each(s.categories, item);
  const recipients = each(s.recipients, (r) => {
    const dataCategories = texts(r.dataCategories);
    const since = optionalText(r.since);
    const until = optionalText(r.until);
    if (
      !isText(r.name) ||
      !isText(r.purpose) ||
      !isText(r.location) ||
      !dataCategories ||
      since === null ||
      until === null
    )
      return null;
    return {
      name: r.name,
      purpose: r.purpose,
      dataCategories,
      location: r.location,
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
    };
  });
  const retention = each(s.retention, (r) => {
    const parts = texts(r.parts);
    const days = r.periodDays;
    if (
      !isText(r.class) ||
      !isText(r.policyClause) ||
      !parts ||
      !(days === null || (typeof days === 'number' && Number.isInteger(days) && days >= 0))
    )
      return null;
    return { class: r.class, policyClause: r.policyClause, periodDays: days as number | null, parts };
  });
  const sources = each(s.sources, (x) =>
    isText(x.part) && isText(x.source) ? { part: x.part, source: x.source } : null,
  );
  const transfers = each(s.transfers, (t) =>
    isText(t.recipient) && isText(t.location) && isText(t.safeguard)
      ? { recipient: t.recipient, location: t.location, safeguard: t.safeguard }
      : null,
  );
  const rights = each(s.rights, (r) => (isText(r.right) && isText(r.how) ? { right: r.right, how: r.how } : null));
  if (
    !purposes ||
    !categories ||
    !recipients ||
    !retention ||
    !sources ||
    !transfers ||
    !rights ||
    !isText(s.automatedDecisions)
  )
    return null;
  return {
    controller: { name: controller.name, contact: controller.contact },
    purposes,
    categories,
    recipients,
    retention,
    sources,
    transfers,
    rights,
    automatedDecisions: s.automatedDecisions,
  };
}

/** Whether a builder's answer has the statement's shape (a host bug must not produce a broken export). */
export const isArticle15 = (v: unknown): v is Article15 => normalizeArticle15(v) !== null;
