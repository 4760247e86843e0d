import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';

/** The first-party analytics visitor cookie (category `analytics`). */
export const ANALYTICS_COOKIE = 'hf_aid';
const THIRTEEN_MONTHS = 395 * 24 * 60 * 60;

/**
 * Sets the visitor cookie for a visitor whose consent allows analytics. The consent plugin would
 * strip it anyway when it is refused; asking first saves the work and says what is meant.
 */
export function markVisitor(request: FastifyRequest, reply: FastifyReply, secure: boolean): void {
  if (request.cookies[ANALYTICS_COOKIE] !== undefined || !request.consent.allows('analytics')) return;
  // randomUUID draws from a cached entropy pool; randomBytes per request was 12% of a request here.
  reply.setCookie(ANALYTICS_COOKIE, randomUUID(), {
    path: '/',
    maxAge: THIRTEEN_MONTHS,
    httpOnly: true,
    sameSite: 'lax',
    secure,
  });
}
