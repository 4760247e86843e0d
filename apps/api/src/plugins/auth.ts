import type { Principal } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { accountByApiKey, digestEquals, keyDigest, type Account } from '../accounts.js';
import { PendingDeletion } from '@harakaflow/data-rights';
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

/** Limits key guessing (the quota plugin's authGate and authFailed). */
export interface AuthGuard {
  /** Answers the request (and returns true) when its client may not try a credential now. */
  gate(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
  /** Counts a failed authentication. */
  failed(request: FastifyRequest): Promise<void>;
}

export interface AuthOptions {
  db: Database;
  adminApiKey: string;
  guard?: AuthGuard | undefined;
}

/**
 * `Authorization: Bearer <key>`: an account's API key, or ADMIN_API_KEY for the admin principal
 * (the "authorized personnel" of policy §3). A malformed, unknown or revoked key is a 401 on every
 * route: a client that sends credentials wants to know they are wrong, not to be served anonymously.
 */
const auth: FastifyPluginAsync<AuthOptions> = async (app, { db, adminApiKey, guard }) => {
  // Hashed once here; each request hashes its token once and uses that digest for both checks.
  const adminDigest = keyDigest(adminApiKey);
  app.decorateRequest('principal', null);
  app.decorateRequest('account', null);

  // Callback style, not async: the anonymous path (the benchmark's) allocates no promise.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const header = request.headers.authorization;
    if (header === undefined) return done(authorize(request));
    if (!guard) {
      authenticate(request, header).then(
        () => done(authorize(request)),
        (error: Error) => done(error),
      );
      return;
    }
    // Key guessing (issue 12 item 7): a client past its failed authentications is answered before
    // its key is looked up, and every failure counts, the admin key's included.
    guard.gate(request, reply).then(
      (refused) => {
        if (refused) return; // answered by the guard
        authenticate(request, header).then(
          () => done(authorize(request)),
          (error: Error) => {
            if (!(error instanceof AuthInvalid)) return done(error);
            guard.failed(request).then(
              () => done(error),
              (failure: Error) => done(failure),
            );
          },
        );
      },
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
  // A deletion in its grace period: the key reaches only the account's privacy requests (issue 14 item 4).
  if (request.account?.deletionPendingAt && !request.routeOptions.config.pendingDeletion) return new PendingDeletion();
  return undefined;
}

export default fp(auth, { name: 'harakaflow-auth', fastify: '5.x' });
