/**
 * The processor register (issue 32 item 4, §5 and §9): `GET /v1/privacy/subprocessors` (JSON) and
 * the page `/privacy/subprocessors`, both public: who processes personal data for HarakaFlow now,
 * for what, where and under which transfer safeguard, and the changes announced for later days
 * (each told to every account by email SUBPROCESSOR_NOTICE_DAYS before, with a link that opens an
 * objection request). The register is data (subprocessors.ts, or SUBPROCESSORS_FILE).
 *
 * The page in English and Swahili (issue 32 item 7), as the public form: its own words from the
 * app's catalogues (languages.ts; a change announced is one whole sentence per kind of change, its
 * values filled in), the register's data as the operator wrote it; the language from `?lang=` (the
 * switch), else the `hf_lang` cookie, else Accept-Language; `<html lang>`, Content-Language, and
 * `Vary: Accept-Language, Cookie` (shared caches keep it a while).
 */
import {
  isPageLanguage,
  languageSwitch,
  pageLanguage,
  pageText,
  plainText,
  type PageKey,
  type PageLanguage,
} from '../../languages/languages.js';
import type { Routes } from '../../http/schema-types.js';
import { registerChanges, registerView, type RegisterChange, type Subprocessor } from '../../privacy/subprocessors.js';
import { asPage, html, page } from './exports.js';

const day = { type: 'string', format: 'date' } as const;
const provider = {
  type: 'object',
  required: ['id', 'name', 'purpose', 'dataCategories', 'location', 'transfer', 'contractUrl', 'since'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    purpose: { type: 'string' },
    dataCategories: { type: 'array', items: { type: 'string' } },
    location: { type: 'string' },
    transfer: {
      type: 'object',
      required: ['mechanism'],
      properties: {
        mechanism: { enum: ['none', 'adequacy', 'scc', 'dpf'] },
        sccModule: { type: 'integer', minimum: 1, maximum: 4 },
        note: { type: 'string' },
      },
    },
    contractUrl: { type: 'string', format: 'uri' },
    since: day,
    until: day,
  },
} as const;

const today = (now: Date) => now.toISOString().slice(0, 10);

const TRANSFERS: Record<Subprocessor['transfer']['mechanism'], PageKey> = {
  none: 'register.transfer.none',
  adequacy: 'register.transfer.adequacy',
  scc: 'register.transfer.scc',
  dpf: 'register.transfer.dpf',
};

/** The transfer safeguard in the page's words, then the operator's note as written. */
const transferIn = (lang: PageLanguage, t: Subprocessor['transfer']) => {
  const safeguard = plainText(lang, TRANSFERS[t.mechanism], { module: String(t.sccModule ?? '') });
  return t.note ? `${safeguard}. ${t.note}` : safeguard;
};

/** A change announced, as one whole sentence of the page's language with the register's values in it. */
const changeIn = (lang: PageLanguage, c: RegisterChange) =>
  pageText(lang, c.change === 'added' ? 'register.change.added' : 'register.change.removed', {
    effectiveDate: c.effectiveDate,
    providerName: c.provider.name,
    providerLocation: c.provider.location,
    dataCategories: c.provider.dataCategories.join(', '),
    purpose: c.provider.purpose,
  });

function registerPage(
  register: readonly Subprocessor[],
  noticeDays: number,
  now: Date,
  lang: PageLanguage,
  chosen: PageLanguage | null,
): string {
  const t = (key: PageKey, values?: Record<string, string>) => pageText(lang, key, values);
  const { current } = registerView(register, today(now));
  const upcoming = registerChanges(register).filter((c) => c.effectiveDate > today(now));
  const rows = current
    .map(
      (p) =>
        `<tr><th scope="row">${html(p.name)}</th><td>${html(p.purpose)}</td><td>${html(p.dataCategories.join(', '))}</td><td>${html(p.location)}</td><td>${html(transferIn(lang, p.transfer))}</td><td><a href="${html(p.contractUrl)}" rel="noopener noreferrer">${t('register.terms')}</a></td><td>${
          p.until ? t('register.period', { since: p.since, until: p.until }) : html(p.since)
        }</td></tr>`,
    )
    .join('\n');
  const changes = upcoming.length
    ? `<ul>\n${upcoming.map((c) => `<li>${changeIn(lang, c)} <a href="/privacy/request?kind=objection&amp;about=${encodeURIComponent(`subprocessors:${c.key}`)}${chosen ? `&amp;lang=${chosen}` : ''}">${t('register.object')}</a></li>`).join('\n')}\n</ul>`
    : `<p>${t('register.noChange')}</p>`;
  const heads = (
    [
      'register.provider',
      'register.purpose',
      'register.data',
      'register.location',
      'register.transfer',
      'register.contract',
      'register.since',
    ] as const
  )
    .map((k) => `<th scope="col">${t(k)}</th>`)
    .join('');
  return `<p>${t('register.intro')}</p>
<div class="table"><table>
<thead><tr>${heads}</tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
<h2>${t('register.changes')}</h2>
${changes}
<p>${pageText(lang, 'register.notice', { noticeDays: String(noticeDays) }, '/v1/privacy/subprocessors')}</p>
<p>${pageText(lang, 'register.centre', {}, chosen ? `/privacy?lang=${chosen}` : '/privacy')}</p>`;
}

const subprocessorRoutes: Routes<{ register: readonly Subprocessor[]; noticeDays: number; now?: () => Date }> = async (
  app,
  { register, noticeDays, now = () => new Date() },
) => {
  app.get(
    '/v1/privacy/subprocessors',
    {
      config: { auth: 'public', ageGate: false },
      schema: {
        tags: ['privacy'],
        summary:
          'The processor register (§5, §9): the providers that process personal data for HarakaFlow today, and the changes announced for later days',
        response: {
          200: {
            type: 'object',
            required: ['asOf', 'noticeDays', 'subprocessors', 'upcoming'],
            properties: {
              asOf: day,
              noticeDays: { type: 'integer' },
              subprocessors: { type: 'array', items: provider },
              upcoming: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['change', 'effectiveDate', 'id', 'name'],
                  properties: {
                    change: { enum: ['added', 'removed'] },
                    effectiveDate: day,
                    id: { type: 'string' },
                    name: { type: 'string' },
                  },
                },
              },
            },
          },
        },
      } as const,
    },
    async (_request, reply) => {
      const asOf = today(now());
      const { current, upcoming } = registerView(register, asOf);
      // Public and the same for everyone: caches may keep it for a while.
      reply.header('cache-control', 'public, max-age=300');
      return { asOf, noticeDays, subprocessors: current, upcoming };
    },
  );

  app.get<{ Querystring: { lang?: string } }>(
    '/privacy/subprocessors',
    { config: { auth: 'public', ageGate: false }, schema: { hide: true } },
    async (request, reply) => {
      const chosen = isPageLanguage(request.query.lang) ? request.query.lang : null;
      const lang = pageLanguage(request, chosen);
      return (
        asPage(reply, 200)
          .header('cache-control', 'public, max-age=300')
          // The language follows the header and the hf_lang cookie (Path=/privacy): a cache keeps one copy per both.
          .header('vary', 'Accept-Language, Cookie')
          .header('content-language', lang)
          .send(
            page(plainText(lang, 'register.title'), registerPage(register, noticeDays, now(), lang, chosen), {
              lang,
              nav: languageSwitch(lang, (l) => `/privacy/subprocessors?lang=${l}`),
            }),
          )
      );
    },
  );
};

export default subprocessorRoutes;
