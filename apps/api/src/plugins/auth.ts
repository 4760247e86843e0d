import type { Principal } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { accountByApiKey, digestEquals, keyDigest, type Account } from '../accounts.js';
import { AuthForbidden, AuthInvalid, AuthRequired } from '../errors.js';

/** Who may call a route. Routes say so in `config.auth`; a route that says nothing requires an account. */
export type AuthRequirement = 'public' | 'account' | 'admin' | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route. Default `account`. */
    auth?: AuthRequirement;
  }
  interface FastifyRequest {
    /** The authenticated principal, or null for an anonymous request. */
    principal: Principal | null;
    /** The authenticated account, when the principal is an account. */
    account: Account | null;
  }
}

export interface AuthOptions {
  db: Database;
  adminApiKey: string;
}

/**
 * `Authorization: Bearer <key>`: an account's API key, or ADMIN_API_KEY for the admin principal
 * (the "authorized personnel" of policy §3). A malformed, unknown or revoked key is a 401 on every
 * route: a client that sends credentials wants to know they are wrong, not to be served anonymously.
 */
const auth: FastifyPluginAsync<AuthOptions> = async (app, { db, adminApiKey }) => {
  // Hashed once here; each request hashes its token once and uses that digest for both checks.
  const adminDigest = keyDigest(adminApiKey);
  app.decorateRequest('principal', null);
  app.decorateRequest('account', null);

  // Callback style, not async: the anonymous path (the benchmark's) allocates no promise.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const header = request.headers.authorization;
    if (header === undefined) return done(authorize(request));
    authenticate(request, header).then(
      () => done(authorize(request)),
      (error: Error) => done(error),
    );
  });

  async function authenticate(request: FastifyRequest, header: string): Promise<void> {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header);
    if (!match) throw new AuthInvalid();
    const token = match[1]!;
    const digest = keyDigest(token);
    if (digestEquals(digest, adminDigest)) {
      request.principal = { kind: 'admin', id: 'admin' };
      return;
    }
    const account = await accountByApiKey(db, token, digest);
    if (!account) throw new AuthInvalid();
    request.account = account;
    request.principal = { kind: 'account', id: account.id };
  }
};

/** Does the route's `config.auth` admit this request's principal? Returns the refusal, if any. */
function authorize(request: FastifyRequest): Error | undefined {
  if (request.is404) return undefined;
  const need = request.routeOptions.config.auth ?? 'account';
  if (need === 'public') return undefined;
  if (!request.principal) return new AuthRequired();
  if (need !== 'any' && request.principal.kind !== need) return new AuthForbidden();
  return undefined;
}

export default fp(auth, { name: 'harakaflow-auth', fastify: '5.x' });
