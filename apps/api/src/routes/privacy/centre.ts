/**
 * The privacy centre (issue 17): the page people use their rights from, served by the API at
 * `/privacy` (and `/` redirects there), and its session routes.
 *
 * The page is three static files (web/: HTML, one stylesheet, one script module, no framework),
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
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { accountByApiKey, publicAccount } from '../../data/accounts.js';
import { markVisitor } from '../../data/analytics.js';
import { OBJECTION_PURPOSES } from '../../privacy/article15.js';
import { AuthInvalid, InvalidConsentForm, SessionCsrf } from '../../http/errors.js';
import { createSession, csrfToken, revokeSession, sessionCookieOptions, SESSION_TTL_MS } from '../../data/sessions.js';
import { catalogue, LANGUAGES, type Language } from '../../languages/centre-languages.js';
import { isPageLanguage, LANGUAGE_COOKIE, pageLanguage as languageOfPage } from '../../languages/languages.js';
import { jsonObject, NO_CONTENT } from '../../http/openapi.js';
import type { Routes } from '../../http/schema-types.js';
import { html } from './exports.js';

const WEB = new URL('../../../web/', import.meta.url);
/** The CSP of the pages the app serves (this one, an export link's): no inline script or style, nothing third-party. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

interface Asset {
  type: string;
  identity: Buffer;
  gzip: Buffer;
  br: Buffer;
  etag: string;
}

function asset(name: string, type: string): Asset {
  const identity = readFileSync(new URL(name, WEB));
  return {
    type,
    identity,
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity),
    etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 16)}"`,
  };
}

/**
 * Sends `body` in the best encoding the request accepts: `encoded` gives the bytes of each (the
 * assets' precompressed buffers, or the page compressed now).
 */
function send(
  request: FastifyRequest,
  reply: FastifyReply,
  type: string,
  encoded: (encoding: 'br' | 'gzip' | 'identity') => Buffer,
  vary = 'accept-encoding',
): FastifyReply {
  const accept = String(request.headers['accept-encoding'] ?? '');
  const encoding = /\bbr\b/.test(accept) ? 'br' : /\bgzip\b/.test(accept) ? 'gzip' : 'identity';
  reply.header('vary', vary).type(type);
  if (encoding !== 'identity') reply.header('content-encoding', encoding);
  return reply.send(encoded(encoding));
}

/** The page's HTML, compressed per request (it carries the visitor's state): a fast brotli level. */
const compressNow = (body: Buffer) => (encoding: 'br' | 'gzip' | 'identity') =>
  encoding === 'br'
    ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })
    : encoding === 'gzip'
      ? gzipSync(body)
      : body;

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
  const templates = Object.fromEntries(LANGUAGES.map((l) => [l, render(l)])) as Record<Language, string>;
  const files: Record<string, Asset> = {
    'privacy.js': asset('privacy.js', 'text/javascript; charset=utf-8'),
    'privacy.css': asset('privacy.css', 'text/css; charset=utf-8'),
  };
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
  app.post(
    '/v1/privacy/session',
    {
      config: { auth: 'public', ageGate: false, errors: { 403: ['HF_AUTH_CSRF'] } },
      schema: {
        tags: ['privacy'],
        summary:
          "Sign in to the privacy centre: an account's API key for a session cookie (HttpOnly, SameSite=Strict) and its CSRF token",
        response: {
          201: jsonObject('The session: its account, CSRF token, expiry and whether a deletion is pending', {
            csrfToken: { type: 'string' },
            expiresAt: { type: 'string' },
            deletionPending: { type: 'boolean' },
          }),
        },
        body: {
          type: 'object',
          required: ['apiKey'],
          additionalProperties: false,
          properties: { apiKey: { type: 'string', minLength: 1, maxLength: 512 } },
        },
      } as const,
    },
    async (request, reply) => {
      if (request.headers.origin !== o.origin) throw new SessionCsrf();
      // Key guessing is limited as for a Bearer key (the quota plugin's gate and failure count).
      if (await app.quota.authGate(request, reply)) return reply;
      const account = await accountByApiKey(o.db, request.body.apiKey);
      if (!account) {
        await app.quota.authFailed(request);
        throw new AuthInvalid();
      }
      const { token, expiresAt } = await createSession(o.db, account.id);
      request.principal = { kind: 'account', id: account.id };
      void request.audit.record({ action: 'privacy.session.created', outcome: 'success', subjectId: account.id });
      reply.setCookie(o.cookieName, token, { ...sessionCookieOptions(o.secureCookies), maxAge: SESSION_TTL_MS / 1000 });
      return reply.code(201).send({
        account: publicAccount(account),
        csrfToken: csrfToken(token),
        expiresAt: expiresAt.toISOString(),
        deletionPending: account.deletionPendingAt !== null,
      });
    },
  );

  const sessionToken = (request: FastifyRequest) => request.cookies[o.cookieName];
  app.get(
    '/v1/privacy/session',
    {
      config: { auth: 'account', pendingDeletion: true },
      schema: {
        tags: ['privacy'],
        summary: "The signed-in account and the session's CSRF token (send it as x-csrf-token)",
        response: {
          200: jsonObject('The signed-in account', {
            csrfToken: { type: ['string', 'null'] },
            deletionPending: { type: 'boolean' },
          }),
        },
      },
    },
    async (request) => {
      const token = sessionToken(request);
      return {
        account: publicAccount(request.account!),
        csrfToken: token ? csrfToken(token) : null,
        deletionPending: request.account!.deletionPendingAt !== null,
      };
    },
  );

  app.delete(
    '/v1/privacy/session',
    {
      config: { auth: 'account', pendingDeletion: true },
      schema: {
        tags: ['privacy'],
        summary: 'Sign out: the session is revoked and its cookie expired',
        response: { 204: NO_CONTENT },
      },
    },
    async (request, reply) => {
      const token = sessionToken(request);
      if (token) await revokeSession(o.db, token);
      reply.clearCookie(o.cookieName, sessionCookieOptions(o.secureCookies));
      return reply.code(204).send();
    },
  );
};

export default privacyCentre;
