// @fastify/cookie's declarations (request.cookies, reply.setCookie) are part of this plugin's contract.
import type {} from '@fastify/cookie';
import type { ConsentState } from './evaluate.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's consent: categories, source, policy version, re-acceptance, `allows(category)`. Computed on first use. */
    readonly consent: ConsentState;
  }
}
