/**
 * The privacy centre (issue 17): the page people use their rights from, served by the API at
 * `/privacy` (and `/` redirects there), and its session routes.
 *
 * The page is static files (web/: HTML, one stylesheet, a script of ES modules, no framework),
 * read once at startup and compressed then (gzip and brotli), served with a strict CSP of their
 * own (`script-src 'self'`, no inline script or style, nothing third-party). The banner also works
 * without JavaScript: a plain form `POST /privacy/consent` (`analytics=granted|denied`), answered
 * 303 to `/privacy`, recorded in the consent ledger exactly as the JSON routes record.
 *
 * Languages (issue 32 item 7): English and Swahili. index.html's words are `{{t:key}}` markers,
 * filled at startup from each language's catalogue (web/i18n, HTML-escaped; `**strong**`,
 * `*emphasis*`, `[text](/path)` and `{name}` placeholders are the only markup a text carries), so
 * each language has its own template; the script's texts travel in the page as a JSON data block
 * (not executed, so `script-src 'self'` is untouched). `?lang=en|sw` (the page's switch) chooses and
 * is remembered in `hf_lang`; else `Accept-Language` decides.
 */
import type { Database } from '@harakaflow/db';
import type { FastifyRequest } from 'fastify';
import { markVisitor } from '../../data/analytics.js';
import { InvalidConsentForm, SessionCsrf } from '../../http/errors.js';
import { LANGUAGE_COOKIE } from '../../languages/languages.js';
import type { Routes } from '../../http/schema-types.js';
import { compressNow, PAGE_CSP, pageAssets, send } from './centre-assets.js';
import { pageLanguage, pageTemplates } from './centre-page.js';
import centreSessionRoutes from './centre-sessions.js';

export { PAGE_CSP } from './centre-assets.js';
export { markup, pageLanguage } from './centre-page.js';

/**
 * A form post from this site's own pages: this site's Origin, or (a browser that sends none)
 * Sec-Fetch-Site: same-origin. Nothing at all is refused too (issue 30 item 12: a request without
 * Origin passed, and not every cross-site POST carries one).
 */
export function sameOriginForm(request: FastifyRequest, origin: string): boolean {
  const given = request.headers.origin;
  return given === undefined ? request.headers['sec-fetch-site'] === 'same-origin' : given === origin;
}

export interface PrivacyCentreOptions {
  db: Database;
  /** The site's own origin (PUBLIC_URL's): a state-changing request from the page must carry it. */
  origin: string;
  cookieName: string;
  secureCookies: boolean;
  /** Said on the banner: `off until you choose` or the policy's opt-out default. */
  analyticsDefault: 'granted' | 'denied';
  /** PRIVACY_CONTACT, shown in the page's footer (an email address: nothing in it needs escaping). */
  privacyContact?: string | undefined;
}

const privacyCentre: Routes<PrivacyCentreOptions> = async (app, o) => {
  const templates = pageTemplates(o);
  const files = pageAssets();
  const page = { config: { auth: 'public' as const, ageGate: false }, schema: { hide: true } };

  app.get('/', page, async (_request, reply) => reply.redirect('/privacy', 302));

  app.get('/privacy', page, async (request, reply) => {
    const state = request.consent;
    const decided = state.source === 'user' && !state.needsReacceptance;
    const gpc = state.source === 'gpc' || request.headers['sec-gpc'] === '1';
    const { language, chosen } = pageLanguage(request);
    // The switch's choice, remembered: a preference the visitor asked for (strictly necessary, no consent).
    if (chosen)
      reply.setCookie(LANGUAGE_COOKIE, language, {
        path: '/privacy',
        sameSite: 'lax',
        httpOnly: true,
        secure: o.secureCookies,
        maxAge: 365 * 24 * 3600,
      });
    const html = templates[language]
      .replaceAll('{{decided}}', String(decided))
      .replaceAll('{{gpc}}', String(gpc))
      .replaceAll('{{bannerHidden}}', decided ? 'hidden' : '')
      .replaceAll('{{gpcHidden}}', gpc ? '' : 'hidden')
      .replaceAll('{{noscriptHidden}}', decided ? '' : 'hidden');
    // A page view is the analytics event: counted under the visitor's choice only.
    markVisitor(request, reply, o.secureCookies);
    // same-origin, not the API's no-referrer: with no-referrer a browser sends `Origin: null` on the
    // page's own form POST, and the Origin check below could not tell it from a cross-site one.
    reply
      .header('content-security-policy', PAGE_CSP)
      .header('cache-control', 'no-cache')
      .header('referrer-policy', 'same-origin')
      .header('content-language', language);
    return send(
      request,
      reply,
      'text/html; charset=utf-8',
      compressNow(Buffer.from(html)),
      'accept-encoding, accept-language, cookie',
    );
  });

  app.get<{ Params: { file: string } }>('/privacy/assets/:file', page, async (request, reply) => {
    const found = files[request.params.file];
    if (!found) return reply.callNotFound();
    reply
      .header('etag', found.etag)
      .header('cache-control', 'public, max-age=300')
      .header('content-security-policy', PAGE_CSP);
    if (request.headers['if-none-match'] === found.etag) return reply.code(304).send();
    return send(request, reply, found.type, (encoding) => found[encoding]);
  });

  // The no-JavaScript banner. Its own content-type parser, in this plugin's scope only.
  await app.register(async (form) => {
    form.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 1024 },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
    form.post<{ Body: Record<string, string> }>('/privacy/consent', page, async (request, reply) => {
      // A cross-site form cannot decide for the visitor.
      if (!sameOriginForm(request, o.origin)) throw new SessionCsrf();
      const choice = request.body?.analytics;
      if (choice !== 'granted' && choice !== 'denied') throw new InvalidConsentForm();
      await app.consentDecide(request, reply, { analytics: choice === 'granted' });
      return reply.redirect('/privacy', 303);
    });
  });
  // Sessions: the API key exchanged once for a cookie the page cannot read.
  await app.register(centreSessionRoutes, o);
};

export default privacyCentre;
