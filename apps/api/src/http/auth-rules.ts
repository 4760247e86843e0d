// Who may call a route (`config.auth`), which routes a session cookie reaches, and the token of a Bearer header.
import { PendingDeletion } from '@harakaflow/data-rights';
import type { FastifyRequest } from 'fastify';
import { AuthForbidden, AuthRequired } from './errors.js';

/** Who may call a route. Routes say so in `config.auth`; a route that says nothing requires an account. */
export type AuthRequirement = 'public' | 'account' | 'admin' | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route. Default `account`. */
    auth?: AuthRequirement;
  }
}

/**
 * The routes the privacy centre's page uses: the only ones a session cookie reaches (issue 17
 * item 4). Everything else takes the Bearer key only, so the cookie is never a general substitute.
 */
export function acceptsSession(route: string | undefined): boolean {
  // Not an export link: its token is its credential, and its page's form POST (which carries no
  // CSRF token) must download for a person signed in to the page too.
  return (
    route !== undefined &&
    ((route.startsWith('/v1/privacy/') && !route.startsWith('/v1/privacy/exports/')) ||
      route === '/v1/consent' ||
      route === '/v1/me' ||
      route === '/v1/me/notices/:id/ack')
  );
}

const BEARER = /^Bearer [\x21-\x7e]{1,512}$/i;

/**
 * The token of an `Authorization: Bearer <token>` header (the scheme in any case, one space, 1 to
 * 512 visible ASCII characters), or null. test() and a slice rather than exec(): no match array
 * per request (90 ns against 200).
 */
export function bearerToken(header: string): string | null {
  return BEARER.test(header) ? header.slice(7) : null;
}

/** Does the route's `config.auth` admit this request's principal? Returns the refusal, if any. */
export function authorize(request: FastifyRequest): Error | undefined {
  if (request.is404) return undefined;
  // request.routeOptions builds a new object on every read (Fastify 5): read it once.
  const config = request.routeOptions.config;
  const need = config.auth ?? 'account';
  if (need === 'public') return undefined;
  if (!request.principal) return new AuthRequired();
  if (need !== 'any' && request.principal.kind !== need) return new AuthForbidden();
  // A deletion in its grace period: the key reaches only the account's privacy requests (issue 14 item 4).
  if (request.account?.deletionPendingAt && !config.pendingDeletion) return new PendingDeletion();
  return undefined;
}
