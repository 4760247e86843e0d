/**
 * The limits of the routes that take requests without an account (issue 32 item 2), JSON and form
 * alike: per client IP (route limits) and per address or per request (quota's keyed limits, the key
 * stored as an HMAC). Fail closed: each admitted submission sends a message.
 */
import type { FastifyRequest } from 'fastify';

/** Submissions per client IP an hour, and per address an hour (the code messages it can cause). */
export const SUBMIT_LIMITS = {
  perIp: { name: 'rights.public.ip', points: 10, duration: 3600 },
  perAddress: { name: 'rights.public.address', points: 3, duration: 3600 },
};
/** Codes tried per client IP an hour (each code has 5 tries besides), and new codes asked per request an hour. */
export const CODE_LIMITS = {
  perIp: { name: 'rights.code.ip', points: 30, duration: 3600 },
  perRequest: { name: 'rights.code.request', points: 3, duration: 3600 },
};

const addressKey = (request: FastifyRequest) => {
  const email = (request.body as { email?: unknown } | null)?.email;
  return typeof email === 'string' ? `rights-address:${email.trim().toLowerCase()}` : undefined;
};
const requestKey = (request: FastifyRequest) => `rights-request:${(request.params as { id?: string }).id ?? ''}`;

/**
 * The routes' quota: per IP; per address (submissions) or per request (new codes); fail closed (a code message is mail
 * sent).
 */
export const submitQuota = {
  failClosed: true,
  limits: [SUBMIT_LIMITS.perIp],
  keyed: { limits: [SUBMIT_LIMITS.perAddress], key: addressKey },
};
export const verifyQuota = { failClosed: true, limits: [CODE_LIMITS.perIp] };
export const resendQuota = {
  failClosed: true,
  limits: [SUBMIT_LIMITS.perIp],
  keyed: { limits: [CODE_LIMITS.perRequest], key: requestKey },
};

/**
 * A contact's request (issue 32 item 3): WhatsApp codes asked per client IP an hour (each request
 * and each number have their own counts too), and looks at the number's step (the status route,
 * the page) per client IP, a count of their own so that checking never uses up the codes.
 */
export const CONTACT_LIMITS = {
  codesPerIp: { name: 'rights.contact.ip', points: 20, duration: 3600 },
  viewsPerIp: { name: 'rights.contact.view', points: 240, duration: 3600 },
};
export const phoneCodeQuota = { failClosed: true, limits: [CONTACT_LIMITS.codesPerIp] };
export const contactViewQuota = { limits: [CONTACT_LIMITS.viewsPerIp] };
