/**
 * The processor register (issue 32 item 4, §5 and §9): `GET /v1/privacy/subprocessors` (JSON) and
 * the page `/privacy/subprocessors`, both public: who processes personal data for HarakaFlow now,
 * for what, where and under which transfer safeguard, and the changes announced for later days
 * (each told to every account by email SUBPROCESSOR_NOTICE_DAYS before, with a link that opens an
 * objection request). The register is data (subprocessors.ts, or SUBPROCESSORS_FILE).
 */
import type { Routes } from '../schema-types.js';
import { describeChange, describeTransfer, registerChanges, registerView, type Subprocessor } from '../subprocessors.js';
import { asPage, html, page } from './privacy-exports.js';

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
      properties: { mechanism: { enum: ['none', 'adequacy', 'scc', 'dpf'] }, sccModule: { type: 'integer', minimum: 1, maximum: 4 }, note: { type: 'string' } },
    },
    contractUrl: { type: 'string', format: 'uri' },
    since: day,
    until: day,
  },
} as const;

const today = (now: Date) => now.toISOString().slice(0, 10);

function registerPage(register: readonly Subprocessor[], noticeDays: number, now: Date): string {
  const { current } = registerView(register, today(now));
  const upcoming = registerChanges(register).filter((c) => c.effectiveDate > today(now));
  const rows = current
    .map(
      (p) => `<tr><th scope="row">${html(p.name)}</th><td>${html(p.purpose)}</td><td>${html(p.dataCategories.join(', '))}</td><td>${html(p.location)}</td><td>${html(describeTransfer(p.transfer))}</td><td><a href="${html(p.contractUrl)}" rel="noopener noreferrer">Terms</a></td><td>${html(p.since)}${p.until ? ` to ${html(p.until)}` : ''}</td></tr>`,
    )
    .join('\n');
  const changes = upcoming.length
    ? `<ul>\n${upcoming.map((c) => `<li>${html(describeChange(c))} <a href="/privacy/request?kind=objection&amp;about=${encodeURIComponent(`subprocessors:${c.key}`)}">Object to this change</a></li>`).join('\n')}\n</ul>`
    : '<p>No change is announced.</p>';
  return `<p>These service providers process personal data on our behalf (privacy policy §5), bound by contract to use it only to provide their service to us. Where data leaves the country it was collected in, the safeguard is named (§9).</p>
<div class="table"><table>
<thead><tr><th scope="col">Provider</th><th scope="col">Purpose</th><th scope="col">Data</th><th scope="col">Location</th><th scope="col">Transfer safeguard</th><th scope="col">Contract</th><th scope="col">Since</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
<h2>Announced changes</h2>
${changes}
<p>Every account is told of a change by email at least ${noticeDays} days before it takes effect. The same register as JSON: <a href="/v1/privacy/subprocessors">/v1/privacy/subprocessors</a>.</p>
<p><a href="/privacy">The privacy centre</a></p>`;
}

const subprocessorRoutes: Routes<{ register: readonly Subprocessor[]; noticeDays: number; now?: () => Date }> = async (app, { register, noticeDays, now = () => new Date() }) => {
  app.get(
    '/v1/privacy/subprocessors',
    {
      config: { auth: 'public', ageGate: false },
      schema: {
        tags: ['privacy'],
        summary: 'The processor register (§5, §9): the providers that process personal data for HarakaFlow today, and the changes announced for later days',
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
                items: { type: 'object', required: ['change', 'effectiveDate', 'id', 'name'], properties: { change: { enum: ['added', 'removed'] }, effectiveDate: day, id: { type: 'string' }, name: { type: 'string' } } },
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

  app.get('/privacy/subprocessors', { config: { auth: 'public', ageGate: false }, schema: { hide: true } }, async (_request, reply) =>
    asPage(reply, 200).header('cache-control', 'public, max-age=300').send(page('Our service providers', registerPage(register, noticeDays, now()))),
  );
};

export default subprocessorRoutes;
