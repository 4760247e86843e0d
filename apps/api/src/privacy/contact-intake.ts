// The public form's steps of a request about a number: its emailed code entered, then its WhatsApp code issued.
import type { RightsRequest } from '@harakaflow/data-rights';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  ContactAlreadyProved,
  ContactCodeLimit,
  ContactRequestNotFound,
  WhatsappNotConfigured,
} from '../http/errors.js';
import { maskPhone } from './contact-proof.js';

/**
 * Enters a public request's emailed code (data-rights' intake); a request about a number then
 * waits for its WhatsApp proof, with the address the person hears at (taken before the code is
 * used: the request forgets it once final).
 */
export async function confirmRequest(
  app: FastifyInstance,
  id: string,
  code: unknown,
  o: { lang?: string | null | undefined } = {},
): Promise<RightsRequest> {
  // Written before the code is used (idempotent), so no crash between the two loses the number's
  // step; it counts only once its request exists (state()). The person hears every step in the
  // language the request was made in.
  const waiting = await app.dataRights.intake.waiting(id);
  if (waiting?.contact && waiting.kind)
    await app.contactRequests.open({
      requestId: id.toLowerCase(),
      phone: waiting.contact,
      address: waiting.address,
      kind: waiting.kind,
      lang: waiting.lang,
    });
  return app.dataRights.intake.confirm(id, code, o);
}

/**
 * Codes asked an hour per request, and per number across requests (each is shown, not sent). The
 * per-request count is the one a person meets; the per-number one is higher, so that others'
 * requests naming a number (each confirmed from an address of its own) do not shut its owner out.
 */
export const PHONE_CODE_LIMITS = {
  perRequest: { name: 'rights.contact.request', points: 5, duration: 3600 },
  perNumber: { name: 'rights.contact.number', points: 30, duration: 3600 },
};

/**
 * A WhatsApp code for a confirmed public request's number, as the page shows it: 503 without a
 * privacy number, 404 without such a request, 409 once proved, 429 past the number's hourly limit
 * (Retry-After set), 503 HF_QUOTA_UNAVAILABLE when its store is out of reach (fail closed).
 */
export async function issueProof(
  app: FastifyInstance,
  id: string,
  reply: FastifyReply,
): Promise<{ code: string; sendTo: string; phone: string; expiresAt: string; whatsappUrl: string }> {
  const to = app.contactRequests.whatsappNumber;
  if (!to) throw new WhatsappNotConfigured();
  const state = await app.contactRequests.state(id);
  if (!state) throw new ContactRequestNotFound();
  if (state.proved) throw new ContactAlreadyProved();
  // quota stores each key as an HMAC, never the number.
  const perRequest = await app.quota.take(PHONE_CODE_LIMITS.perRequest, `rights-contact:${id}`);
  const taken = perRequest.allowed
    ? await app.quota.take(PHONE_CODE_LIMITS.perNumber, `rights-number:${state.phone}`)
    : perRequest;
  if (!taken.allowed) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(taken.resetMs / 1000))));
    throw new ContactCodeLimit();
  }
  const issued = await app.contactRequests.issueCode(id, state.phone);
  if (issued === 'missing') throw new ContactRequestNotFound();
  if (issued === 'proved') throw new ContactAlreadyProved();
  return {
    code: issued.code,
    sendTo: to,
    phone: maskPhone(issued.phone),
    expiresAt: issued.expiresAt.toISOString(),
    whatsappUrl: `https://wa.me/${to.slice(1)}?text=${encodeURIComponent(issued.code)}`,
  };
}
