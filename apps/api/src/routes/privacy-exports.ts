/**
 * The one-time export link (issue 30 item 7). `GET` (and the `HEAD` Fastify answers from it) is a
 * small page with the download buttons and changes nothing: mail link scanners, chat unfurlers and
 * browser prefetches fetch links, and before this a HEAD spent the link and the person got 410.
 * `POST` downloads, once, with the `Accept` negotiation the GET had (JSON by default, a zip for
 * `Accept: application/zip`), or the form's `format`. The page is a plain form POST: no script, the
 * privacy centre's CSP (`form-action 'self'`, styles from /privacy/assets only), the API's
 * `Referrer-Policy: no-referrer` (its stylesheet request must not carry the token) and `no-store`.
 */
import { ExportGone, ExportNotAcceptable, ExportPageOnly } from '@harakaflow/data-rights';
import { errorResponse } from '../openapi.js';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import type { Routes, SchemaTypes } from '../schema-types.js';
import { PAGE_CSP } from './privacy-centre.js';

const tokenParams = { type: 'object', required: ['token'], properties: { token: { type: 'string', maxLength: 100 } } } as const;
// The token is the credential: no key needed (a contact or an emailed requester has none).
// Audited and logged by the route's pattern, never the token.
const linkConfig = { auth: 'public', ageGate: false, audit: { path: 'route' }, quota: { failClosed: true } } as const;

/** Text as HTML: the five characters that matter escaped. */
export const html = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const when = (d: Date) =>
  `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })}, ${d.toISOString().slice(11, 16)} UTC`;

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

/** The page's headers: the privacy centre's CSP, kept out of search engines; the API's referrer policy and no-store stay. */
export const asPage = (reply: FastifyReply, status: number) => reply.code(status).header('content-security-policy', PAGE_CSP).header('x-robots-tag', 'noindex, nofollow').type('text/html; charset=utf-8');

/** Whether an Accept header names HTML itself (a browser's navigation does), not only through a wildcard. */
const namesHtml = (accept: string | undefined) => accept !== undefined && /(^|,)\s*(text\/html|application\/xhtml\+xml)\s*(;|,|$)/i.test(accept);

/** Whether an Accept header takes an HTML page (no header, `*\/*`, `text/*`, `text/html`, XHTML). */
const takesHtml = (accept: string | undefined) => accept === undefined || /(^|,)\s*(\*\/\*|text\/\*|text\/html|application\/xhtml\+xml)\s*(;|,|$)/i.test(accept);

const exportRoutes: Routes = async (app) => {
  app.get(
    '/v1/privacy/exports/:token',
    {
      config: { ...linkConfig, errors: { 406: ['HF_DATA_RIGHTS_EXPORT_PAGE'], 410: ['HF_DATA_RIGHTS_EXPORT_GONE'] } },
      schema: {
        tags: ['privacy'],
        summary: 'The page of an export link: its download buttons (a form that POSTs the link). GET and HEAD change nothing; an API client POSTs the link itself',
        params: tokenParams,
        response: {
          200: { description: 'The download page', content: { 'text/html': { schema: { type: 'string' } } } },
          410: {
            description: 'The link was used or has expired: a page saying so for a browser (Accept names text/html), else the error HF_DATA_RIGHTS_EXPORT_GONE',
            content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: errorResponse(410, ['HF_DATA_RIGHTS_EXPORT_GONE']) } },
          },
        },
      } as const,
    },
    async (request, reply) => {
      if (!takesHtml(request.headers.accept)) throw new ExportPageOnly();
      const found = await app.dataRights.peekExport(request.params.token);
      if (!found) {
        // A person's browser gets a page; a scanner or a client that did not ask for HTML, the one error shape.
        if (!namesHtml(request.headers.accept)) throw new ExportGone();
        return asPage(reply, 410).send(
          page(
            'This link no longer works',
            '<p>This download link was already used, or it has expired: each link downloads your data once, for a limited time.</p>\n<p>You can ask for a new copy from the <a href="/privacy">privacy centre</a>.</p>',
          ),
        );
      }
      const megabytes = Math.max(0.1, Math.round(found.size / 100_000) / 10);
      return asPage(reply, 200).send(
        page(
          'Your data export',
          `<p>Your copy of your HarakaFlow data is ready (about ${megabytes} MB). The link downloads it <strong>once</strong>, until ${html(when(found.expiresAt))}; after the download it is deleted from our servers.</p>
<form method="post">
  <div class="row">
    <button type="submit" name="format" value="json">Download my data (JSON)</button>
    <button type="submit" name="format" value="zip">Download my data (zip)</button>
  </div>
</form>
<p>Opening this page does not use the link up: only a button does. If the download is interrupted, ask for a new copy from the <a href="/privacy">privacy centre</a>.</p>`,
        ),
      );
    },
  );

  // The download. Its own scope: the page's form posts application/x-www-form-urlencoded.
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.withTypeProvider<SchemaTypes>().post(
      '/v1/privacy/exports/:token',
      {
        config: { ...linkConfig, errors: { 406: ['HF_DATA_RIGHTS_NOT_ACCEPTABLE'], 410: ['HF_DATA_RIGHTS_EXPORT_GONE'] } },
        schema: {
          tags: ['privacy'],
          summary: 'Download an export once (the link of an access or portability request); then it is deleted. Breaking change: GET downloaded before; it now answers the download page',
          params: tokenParams,
          body: {
            type: ['object', 'null'],
            additionalProperties: false,
            // The page's buttons; without it, Accept picks.
            properties: { format: { enum: ['json', 'zip'] } },
          },
          response: {
            200: {
              description: 'The export: one signed JSON document, or a zip with an entry per part and manifest.json (Accept: application/zip, or format=zip)',
              content: { 'application/json': { schema: { type: 'object', additionalProperties: true } }, 'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } } },
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
          if (!zip && !/(^|,)\s*(application\/json|application\/\*|\*\/\*)/i.test(accept)) throw new ExportNotAcceptable();
        }
        const found = await app.dataRights.download(request.params.token, zip ? 'zip' : 'json');
        if (!found) throw new ExportGone();
        const file = `harakaflow-export-${found.requestId}.${found.format}`;
        reply.header('content-disposition', `attachment; filename="${file}"`);
        if (found.size !== null) reply.header('content-length', String(found.size));
        return reply.type(found.format === 'zip' ? 'application/zip' : 'application/json; charset=utf-8').send(Readable.from(found.body));
      },
    );
  });
};

export default exportRoutes;
