/**
 * The one-time export link (issue 30 item 7). `GET` (and the `HEAD` Fastify answers from it) is a
 * small page with the download buttons and changes nothing: mail link scanners, chat unfurlers and
 * browser prefetches fetch links, and before this a HEAD spent the link and the person got 410.
 * `POST` downloads, once, with the `Accept` negotiation the GET had (JSON by default, a zip for
 * `Accept: application/zip`), or the form's `format`. The page is a plain form POST: no script, the
 * privacy centre's CSP (`form-action 'self'`, styles from /privacy/assets only), the API's
 * `Referrer-Policy: no-referrer` (its stylesheet request must not carry the token) and `no-store`.
 *
 * In English and Swahili (issue 32 item 7), as the public form: the page's texts from the app's
 * catalogues (languages.ts), its language from `?lang=` (the switch), else Accept-Language;
 * `<html lang>`, Content-Language and `Vary: Accept-Language`. The download itself is the same in
 * every language; an API client's 406 stays the one JSON error shape.
 */
import { ExportGone, ExportNotAcceptable, ExportPageOnly } from '@harakaflow/data-rights';
import { errorResponse } from '../../http/openapi.js';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import type { Routes, SchemaTypes } from '../../http/schema-types.js';
import {
  isPageLanguage,
  languageSwitch,
  pageLanguage,
  pageText,
  plainText,
  varyByLanguage,
  type PageLanguage,
} from '../../languages/languages.js';
import { PAGE_CSP } from './centre-assets.js';

const tokenParams = {
  type: 'object',
  required: ['token'],
  properties: { token: { type: 'string', maxLength: 100 } },
} as const;
// The token is the credential: no key needed (a contact or an emailed requester has none).
// Audited and logged by the route's pattern, never the token.
const linkConfig = { auth: 'public', ageGate: false, audit: { path: 'route' }, quota: { failClosed: true } } as const;

/** Text as HTML: the five characters that matter escaped. */
export const html = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** A moment in the page's language: `7 December 2026, 20:50 UTC`, `7 Desemba 2026, 20:50 UTC`. */
const when = (d: Date, lang: PageLanguage) =>
  `${d.toLocaleDateString(lang === 'sw' ? 'sw-KE' : 'en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })}, ${d.toISOString().slice(11, 16)} UTC`;

/**
 * A page of the privacy centre's look: no script, its stylesheet only (the CSP allows nothing else).
 * `lang`: the language it is written in (`<html lang>`, default English); `nav`: HTML put under the
 * brand (the public form's language switch).
 */
export function page(title: string, body: string, o: { lang?: string; nav?: string } = {}): string {
  return `<!doctype html>
<html lang="${html(o.lang ?? 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${html(title)} · HarakaFlow</title>
<link rel="stylesheet" href="/privacy/assets/privacy.css">
</head>
<body>
<header>
  <p class="brand">HarakaFlow</p>
${o.nav ? `  ${o.nav}\n` : ''}  <h1>${html(title)}</h1>
</header>
<main id="main">
${body}
</main>
</body>
</html>
`;
}

/**
 * The page's headers: the privacy centre's CSP, kept out of search engines; the API's referrer policy and no-store
 * stay.
 */
export const asPage = (reply: FastifyReply, status: number) =>
  reply
    .code(status)
    .header('content-security-policy', PAGE_CSP)
    .header('x-robots-tag', 'noindex, nofollow')
    .type('text/html; charset=utf-8');

/** Whether an Accept header names HTML itself (a browser's navigation does), not only through a wildcard. */
const namesHtml = (accept: string | undefined) =>
  accept !== undefined && /(^|,)\s*(text\/html|application\/xhtml\+xml)\s*(;|,|$)/i.test(accept);

/** Whether an Accept header takes an HTML page (no header, `*\/*`, `text/*`, `text/html`, XHTML). */
const takesHtml = (accept: string | undefined) =>
  accept === undefined || /(^|,)\s*(\*\/\*|text\/\*|text\/html|application\/xhtml\+xml)\s*(;|,|$)/i.test(accept);

const exportRoutes: Routes = async (app) => {
  app.get(
    '/v1/privacy/exports/:token',
    {
      config: { ...linkConfig, errors: { 406: ['HF_DATA_RIGHTS_EXPORT_PAGE'], 410: ['HF_DATA_RIGHTS_EXPORT_GONE'] } },
      schema: {
        tags: ['privacy'],
        summary:
          'The page of an export link: its download buttons (a form that POSTs the link). GET and HEAD change nothing; an API client POSTs the link itself',
        params: tokenParams,
        response: {
          200: { description: 'The download page', content: { 'text/html': { schema: { type: 'string' } } } },
          410: {
            description:
              'The link was used or has expired: a page saying so for a browser (Accept names text/html), else the error HF_DATA_RIGHTS_EXPORT_GONE',
            content: {
              'text/html': { schema: { type: 'string' } },
              'application/json': { schema: errorResponse(410, ['HF_DATA_RIGHTS_EXPORT_GONE']) },
            },
          },
        },
      } as const,
    },
    async (request, reply) => {
      if (!takesHtml(request.headers.accept)) throw new ExportPageOnly();
      const found = await app.dataRights.peekExport(request.params.token);
      // The page's language: the switch's `?lang=` (the link in the email has none), else the browser's.
      const chosen = (request.query as { lang?: unknown } | undefined)?.lang;
      const lang = pageLanguage(request, chosen);
      // The privacy centre in the language chosen here (the centre remembers a choice, never a guess).
      const centre = isPageLanguage(chosen) ? `/privacy?lang=${lang}` : '/privacy';
      // The switch: this page (the link's own path, its token with it) in the other language.
      const self = `/v1/privacy/exports/${encodeURIComponent(request.params.token)}`;
      const send = (status: number, title: 'export.title' | 'export.gone.title', body: string) =>
        varyByLanguage(asPage(reply, status))
          .header('content-language', lang)
          .send(page(plainText(lang, title), body, { lang, nav: languageSwitch(lang, (l) => `${self}?lang=${l}`) }));
      if (!found) {
        // A person's browser gets a page; a scanner or a client that did not ask for HTML, the one error shape.
        if (!namesHtml(request.headers.accept)) throw new ExportGone();
        return send(
          410,
          'export.gone.title',
          `<p>${pageText(lang, 'export.gone.body')}</p>\n<p>${pageText(lang, 'export.gone.again', {}, centre)}</p>`,
        );
      }
      const megabytes = Math.max(0.1, Math.round(found.size / 100_000) / 10);
      return send(
        200,
        'export.title',
        `<p>${pageText(lang, 'export.ready', { size: String(megabytes), expiresAt: when(found.expiresAt, lang) })}</p>
<form method="post">
  <div class="row">
    <button type="submit" name="format" value="json">${pageText(lang, 'export.json')}</button>
    <button type="submit" name="format" value="zip">${pageText(lang, 'export.zip')}</button>
  </div>
</form>
<p>${pageText(lang, 'export.note', {}, centre)}</p>`,
      );
    },
  );

  // The download. Its own scope: the page's form posts application/x-www-form-urlencoded.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 1024 },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
    scope.withTypeProvider<SchemaTypes>().post(
      '/v1/privacy/exports/:token',
      {
        config: {
          ...linkConfig,
          errors: { 406: ['HF_DATA_RIGHTS_NOT_ACCEPTABLE'], 410: ['HF_DATA_RIGHTS_EXPORT_GONE'] },
        },
        schema: {
          tags: ['privacy'],
          summary:
            'Download an export once (the link of an access or portability request); then it is deleted. Breaking change: GET downloaded before; it now answers the download page',
          params: tokenParams,
          body: {
            type: ['object', 'null'],
            additionalProperties: false,
            // The page's buttons; without it, Accept picks.
            properties: { format: { enum: ['json', 'zip'] } },
          },
          response: {
            200: {
              description:
                'The export: one signed JSON document, or a zip with an entry per part and manifest.json (Accept: application/zip, or format=zip)',
              content: {
                'application/json': { schema: { type: 'object', additionalProperties: true } },
                'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } },
              },
            },
          },
        } as const,
      },
      async (request, reply) => {
        let zip: boolean;
        const format = (request.body as { format?: 'json' | 'zip' } | null)?.format;
        if (format) zip = format === 'zip';
        else {
          // Accept picks: JSON (the default, and for */*) or a zip with an entry per part.
          const accept = request.headers.accept ?? '*/*';
          zip = /(^|,)\s*application\/zip/i.test(accept) && !/(^|,)\s*application\/json/i.test(accept);
          if (!zip && !/(^|,)\s*(application\/json|application\/\*|\*\/\*)/i.test(accept))
            throw new ExportNotAcceptable();
        }
        const found = await app.dataRights.download(request.params.token, zip ? 'zip' : 'json');
        if (!found) throw new ExportGone();
        const file = `harakaflow-export-${found.requestId}.${found.format}`;
        reply.header('content-disposition', `attachment; filename="${file}"`);
        if (found.size !== null) reply.header('content-length', String(found.size));
        return reply
          .type(found.format === 'zip' ? 'application/zip' : 'application/json; charset=utf-8')
          .send(Readable.from(found.body));
      },
    );
  });
};

export default exportRoutes;
