/**
 * The public request form (issue 32 item 2), for people without an account or an API key at hand:
 * plain HTML forms that work without JavaScript (`application/x-www-form-urlencoded`), the privacy
 * centre's look and CSP, no script. `GET /privacy/request` asks for the address, the kind and the
 * details; its POST sends the code and answers 303 to `/privacy/request/:id`, the page where the
 * code is entered (its POST confirms; `/code` sends a new one). Every value shown is escaped; every
 * POST must come from this site (its Origin, or Sec-Fetch-Site: same-origin), as the consent form's.
 * The same limits as the JSON routes (a refusal there answers the one JSON error shape).
 */
import { REQUEST_KINDS, type RightsRequest } from '@harakaflow/data-rights';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SessionCsrf } from '../errors.js';
import { sendRequestCode } from '../rights-intake.js';
import { confirmRequest, issueProof, maskPhone } from '../contact-requests.js';
import { objectionDetails, type Subprocessor } from '../subprocessors.js';
import type { Routes } from '../schema-types.js';
import { sameOriginForm } from './privacy-centre.js';
import { asPage, html, page } from './privacy-exports.js';
import { contactViewQuota, phoneCodeQuota, resendQuota, submitQuota, verifyQuota } from './public-request-limits.js';

const KIND_NAMES: Record<(typeof REQUEST_KINDS)[number], string> = {
  access: 'A copy of my data (access)',
  portability: 'My data in a portable format',
  correction: 'Correct my data',
  deletion: 'Delete my data',
  restriction: 'Restrict the processing of my data',
  objection: 'Object to a use of my data',
  withdraw_consent: 'Withdraw my consent',
};
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | null)?.[name];
  return typeof v === 'string' ? v.trim() : '';
};
const NO_PHONE_STEP = '<p>No confirmed request about a phone number waits here.</p>\n<p><a href="/privacy/request">Make a new request</a>.</p>';
const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** The headers of these pages: the privacy centre's CSP, `same-origin` referrers (a form POST then carries this site's Origin), never cached. */
const send = (reply: FastifyReply, status: number, title: string, body: string) =>
  asPage(reply, status).header('referrer-policy', 'same-origin').header('cache-control', 'no-store').send(page(title, body));

function requestForm(values: Record<string, string> = {}, error?: string): string {
  const options = REQUEST_KINDS.map((k) => `<option value="${k}"${values.kind === k ? ' selected' : ''}>${html(KIND_NAMES[k])}</option>`).join('');
  return `${error ? `<p class="notice" role="alert">${html(error)}</p>\n` : ''}<p>No account, or no API key at hand? Ask here. We send a six-digit code to your email address, and the request is made when you enter it. If it is the verified address of a HarakaFlow account, the request is about that account. We answer within 30 days (privacy policy §6).</p>
<form method="post" action="/privacy/request">
  <label for="email">Your email address</label>
  <input id="email" name="email" type="email" required maxlength="254" autocomplete="email" value="${html(values.email ?? '')}">
  <label for="kind">What do you ask for?</label>
  <select id="kind" name="kind" required>${options}</select>
  <label for="contact">A phone number it is about (optional, as +254...)</label>
  <input id="contact" name="contact" type="tel" maxlength="16" autocomplete="tel" value="${html(values.contact ?? '')}">
  <label for="details">Anything we should know (optional)</label>
  <textarea id="details" name="details" maxlength="2000" rows="4">${html(values.details ?? '')}</textarea>
  <button type="submit">Send me a code</button>
</form>
<p>Have an API key? The <a href="/privacy">privacy centre</a> does all of this at once.</p>`;
}

function codeForm(id: string, notice?: string, error?: string): string {
  return `${error ? `<p class="notice" role="alert">${html(error)}</p>\n` : ''}${notice ? `<p class="status" role="status">${html(notice)}</p>\n` : ''}<p>We sent a six-digit code to the address you gave (it can take a minute to arrive). It works for 10 minutes and 5 tries.</p>
<form method="post" action="/privacy/request/${id}">
  <label for="code">The code</label>
  <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7" spellcheck="false">
  <button type="submit">Confirm my request</button>
</form>
<form method="post" action="/privacy/request/${id}/code">
  <button type="submit" class="link">Send me a new code</button>
</form>`;
}

const confirmed = (r: RightsRequest) =>
  `<p class="status" role="status">Your request is confirmed.</p>
<p>We answer by ${html(when(r.extendedDueAt ?? r.dueAt))}, and write to you at every step. Your reference: <strong>${html(r.id)}</strong>.</p>${
    r.contact
      ? `
<p>Your request is also about a phone number. The businesses that use HarakaFlow to message that number decide about their own data: we pass your request to each of them once you show us that the number is yours.</p>
<p><a href="/privacy/request/${html(r.id)}/phone">Prove the number with WhatsApp</a></p>`
      : ''
  }
<p>Questions? Answer any of our messages, or write to the privacy team.</p>`;

/** The number's step (issue 32 item 3): proved and passed on, or a button that shows a code. */
function phoneStep(id: string, state: { phone: string; proved: boolean; forwarded: number | null }, error?: string): string {
  if (state.proved) {
    const n = state.forwarded ?? 0;
    return `<p class="status" role="status">The number ${html(maskPhone(state.phone))} is proved to be yours.</p>
<p>${
      n === 0
        ? 'No business using HarakaFlow holds data about this number, so there was nobody to pass your request to. We have emailed you this.'
        : n === 1
          ? 'We passed your request to the one business that holds data about this number. It has 30 days to answer; we email you its answer.'
          : `We passed your request to the ${n} businesses that hold data about this number. Each has 30 days to answer; we email you each answer.`
    }</p>`;
  }
  return `${error ? `<p class="notice" role="alert">${html(error)}</p>
` : ''}<p>To show that ${html(maskPhone(state.phone))} is your number, you will send us a short code from it with WhatsApp. We then pass your request to every business that holds data about that number.</p>
<form method="post" action="/privacy/request/${html(id)}/phone">
  <button type="submit">Show me the code</button>
</form>`;
}

function codeToSend(id: string, issued: { code: string; sendTo: string; phone: string; expiresAt: string; whatsappUrl: string }): string {
  return `<p>From WhatsApp on ${html(issued.phone)}, send this message to <strong>${html(issued.sendTo)}</strong> before ${html(when(issued.expiresAt))}:</p>
<p class="code"><strong>${html(issued.code)}</strong></p>
<p><a href="${html(issued.whatsappUrl)}" rel="noreferrer">Open WhatsApp with the message written</a></p>
<p>Only a message from that number counts. Once you have sent it, <a href="/privacy/request/${html(id)}/phone">check here</a>: we also email you when your request is passed on.</p>`;
}

const requestForms: Routes<{ origin: string; register?: readonly Subprocessor[] }> = async (app, { origin, register = [] }) => {
  const pageConfig = { auth: 'public' as const, ageGate: false };
  const checked = (request: FastifyRequest) => {
    if (!sameOriginForm(request, origin)) throw new SessionCsrf();
  };

  // A link may choose the kind (`?kind=objection`) and name a change of the processor register it
  // objects to (`&about=subprocessors:<change>`, from its notice): the details are then that change's
  // own text, from the register, never text the link carries.
  app.get<{ Querystring: { kind?: string; about?: string } }>('/privacy/request', { config: pageConfig, schema: { hide: true } }, async (request, reply) => {
    const { kind, about } = request.query;
    const values: Record<string, string> = {};
    if (typeof kind === 'string' && (REQUEST_KINDS as readonly string[]).includes(kind)) values.kind = kind;
    const details = typeof about === 'string' ? objectionDetails(register, about) : undefined;
    if (details) Object.assign(values, { kind: 'objection', details });
    return send(reply, 200, 'Make a privacy request', requestForm(values));
  });

  app.get<{ Params: { id: string }; Querystring: { sent?: string } }>('/privacy/request/:id', { config: { ...pageConfig, audit: { path: 'route' } }, schema: { hide: true } }, async (request, reply) => {
    const { id } = request.params;
    if (!UUID.test(id) || !(await app.dataRights.intake.waitingAddress(id))) {
      return send(reply, 404, 'Nothing to confirm here', '<p>This request is not waiting for a code: it was confirmed already, or it was not confirmed in time.</p>\n<p><a href="/privacy/request">Make a new request</a>.</p>');
    }
    return send(reply, 200, 'Confirm your request', codeForm(id.toLowerCase(), request.query.sent === '1' ? 'A new code is on its way.' : undefined));
  });

  app.get<{ Params: { id: string } }>('/privacy/request/:id/phone', { config: { ...pageConfig, audit: { path: 'route' }, quota: contactViewQuota }, schema: { hide: true } }, async (request, reply) => {
    const id = UUID.test(request.params.id) ? request.params.id.toLowerCase() : '';
    const state = id ? await app.contactRequests.state(id) : null;
    if (!state) return send(reply, 404, 'Nothing to prove here', NO_PHONE_STEP);
    return send(reply, 200, 'Prove your number', phoneStep(id, state));
  });

  // The forms' posts: their own content-type parser, in this scope only.
  await app.register(async (forms) => {
    forms.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    forms.post('/privacy/request', { config: { ...pageConfig, quota: submitQuota }, schema: { hide: true } }, async (request, reply) => {
      checked(request);
      const values = { email: field(request.body, 'email'), kind: field(request.body, 'kind'), contact: field(request.body, 'contact'), details: field(request.body, 'details').slice(0, 2000) };
      const problem = !EMAIL.test(values.email)
        ? 'Please give an email address: the code goes there.'
        : !(REQUEST_KINDS as readonly string[]).includes(values.kind)
          ? 'Please choose what you ask for.'
          : values.contact && !E164.test(values.contact)
            ? 'Please write the phone number as + and the country code, then the number (at most 15 digits), or leave it empty.'
            : null;
      if (problem) return send(reply, 400, 'Make a privacy request', requestForm(values, problem));
      const { id } = await app.dataRights.intake.submit({ email: values.email, kind: values.kind, contact: values.contact || null, details: values.details || null });
      await sendRequestCode(app, id, values.email.toLowerCase());
      return reply.redirect(`/privacy/request/${id}`, 303);
    });

    forms.post<{ Params: { id: string } }>('/privacy/request/:id', { config: { ...pageConfig, audit: { path: 'route' }, quota: verifyQuota }, schema: { hide: true } }, async (request, reply) => {
      checked(request);
      const id = UUID.test(request.params.id) ? request.params.id.toLowerCase() : '';
      if (!id) return send(reply, 404, 'Nothing to confirm here', '<p>This request is not waiting for a code.</p>\n<p><a href="/privacy/request">Make a new request</a>.</p>');
      try {
        const done = await confirmRequest(app, id, field(request.body, 'code'));
        return send(reply, 200, 'Your request is confirmed', confirmed(done));
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'HF_DATA_RIGHTS_CODE_INVALID') return send(reply, 400, 'Confirm your request', codeForm(id, undefined, 'That is not the code we sent for this request. Check it, or ask for a new one.'));
        if (code === 'HF_DATA_RIGHTS_CODE_EXPIRED' || code === 'HF_DATA_RIGHTS_CODE_ATTEMPTS') {
          const why = code === 'HF_DATA_RIGHTS_CODE_EXPIRED' ? 'This code has expired (a code works for 10 minutes).' : 'This code was tried 5 times and no longer works.';
          return send(reply, 410, 'Confirm your request', codeForm(id, undefined, `${why} Ask for a new one below.`));
        }
        throw error;
      }
    });

    forms.post<{ Params: { id: string } }>('/privacy/request/:id/phone', { config: { ...pageConfig, audit: { path: 'route' }, quota: phoneCodeQuota }, schema: { hide: true } }, async (request, reply) => {
      checked(request);
      const id = UUID.test(request.params.id) ? request.params.id.toLowerCase() : '';
      const state = id ? await app.contactRequests.state(id) : null;
      if (!state) return send(reply, 404, 'Nothing to prove here', NO_PHONE_STEP);
      try {
        return send(reply, 200, 'Send the code from your number', codeToSend(id, await issueProof(app, id, reply)));
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'HF_PRIVACY_CONTACT_PROVED') return send(reply, 200, 'Prove your number', phoneStep(id, (await app.contactRequests.state(id))!));
        if (code === 'HF_PRIVACY_CONTACT_CODE_LIMIT') return send(reply, 429, 'Prove your number', phoneStep(id, state, 'Too many codes were asked for this number in the last hour. Please try again later.'));
        if (code === 'HF_PRIVACY_WHATSAPP_NOT_CONFIGURED') return send(reply, 503, 'Prove your number', phoneStep(id, state, 'Numbers cannot be proved on this server yet. Please write to the privacy team instead.'));
        throw error;
      }
    });

    forms.post<{ Params: { id: string } }>('/privacy/request/:id/code', { config: { ...pageConfig, audit: { path: 'route' }, quota: resendQuota }, schema: { hide: true } }, async (request, reply) => {
      checked(request);
      const id = request.params.id;
      const address = UUID.test(id) ? await app.dataRights.intake.waitingAddress(id) : null;
      if (address) await sendRequestCode(app, id.toLowerCase(), address);
      return reply.redirect(`/privacy/request/${encodeURIComponent(id)}?sent=1`, 303);
    });
  });
};

export default requestForms;
