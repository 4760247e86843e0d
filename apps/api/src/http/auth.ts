// The auth plugin: a request's principal from its Bearer key (cached per replica) or the privacy centre's session
// cookie.
import { cookieValues, errorCodes, type Principal } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { digestEquals, hashApiKey, keyDigest, type Account } from '../data/accounts.js';
import { KEY_USE_RESOLUTION_MS, recordKeyUse, resolveApiKey } from '../data/api-keys.js';
import { acceptsSession, authorize, bearerToken } from './auth-rules.js';
import { AuthInvalid, SessionCsrf } from './errors.js';
import { csrfValid, sessionAccount } from '../data/sessions.js';

export { acceptsSession, bearerToken, type AuthRequirement } from './auth-rules.js';

declare module 'fastify' {
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
  /**
   * True when gate() would answer false without waiting on anything (optional: the hot path then skips its promise).
   */
  clear?(request: FastifyRequest): boolean;
}

export interface AuthOptions {
  db: Database;
  adminApiKey: string;
  guard?: AuthGuard | undefined;
  /** The privacy centre's session cookie (sessions.ts): its name and the site's own origin. */
  session?: { cookieName: string; origin: string } | undefined;
  /**
   * How long a key's resolution is reused, ms (AUTH_CACHE_MS; 0: every request asks the database).
   * The replica that changes an account (a deletion requested, a correction, an admin action, a
   * key revoked) forgets it at once (`app.authCache.invalidate`); the others within this time. An account's own
   * requests that change nothing of it (a message sent) keep its entry.
   */
  cacheMs?: number | undefined;
}

/** Keys remembered at most (the oldest forgotten first). */
const CACHE_ENTRIES = 10_000;

declare module 'fastify' {
  interface FastifyInstance {
    /** Forgets cached key resolutions: one account's, or (no id) all. */
    authCache: { invalidate(accountId?: string): void };
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `Authorization: Bearer <key>`: an account's API key, or ADMIN_API_KEY for the admin principal
 * (the "authorized personnel" of policy §3). A malformed, unknown or revoked key is a 401 on every
 * route: a client that sends credentials wants to know they are wrong, not to be served anonymously.
 */
const auth: FastifyPluginAsync<AuthOptions> = async (app, { db, adminApiKey, guard, session, cacheMs = 0 }) => {
  // Key digest (hex) -> the account it resolved to (and its principal, shared by the requests it
  // answers), until when; and each account's digests, so forgetting one account touches its own
  // entries only. Only hits are kept: a new key works at once, and guesses fill nothing. Only keys
  // that are not the admin key get here (authenticate() compares with it first), so a hit is
  // never the admin key: the cached path skips that comparison.
  const cache = new Map<string, CacheEntry>();
  const byAccount = new Map<string, Set<string>>();
  const forget = (key: string) => {
    const entry = cache.get(key);
    if (!entry) return;
    cache.delete(key);
    const keys = byAccount.get(entry.account.id);
    keys?.delete(key);
    if (keys && !keys.size) byAccount.delete(entry.account.id);
  };
  // Bumped by every invalidation: a lookup that was in flight across one (a key read just before
  // its revocation committed) answers its request but is not cached.
  let generation = 0;
  const invalidate = (accountId?: string) => {
    generation++;
    if (accountId === undefined) {
      cache.clear();
      byAccount.clear();
      return;
    }
    for (const key of byAccount.get(accountId) ?? []) cache.delete(key);
    byAccount.delete(accountId);
  };
  app.decorate('authCache', { invalidate });
  // Hashed once here; each request hashes its token once (to hex, the cache's and the database's
  // key) and compares those bytes with this when it is not answered from the cache.
  const adminDigest = keyDigest(adminApiKey);
  app.decorateRequest('principal', null);
  app.decorateRequest('account', null);

  // Callback style, not async: the anonymous path (the benchmark's) allocates no promise. The
  // request id header is the security-headers plugin's (the first hook: every answer carries it).
  app.addHook('onRequest', (request, reply, done) => {
    const header = request.headers.authorization;
    if (header === undefined) {
      // Cookies are parsed later (@fastify/cookie); the first value, as a parser would keep. The
      // cookie header is looked at first: request.routeOptions builds an object on every read.
      const cookies = request.headers.cookie;
      const token =
        session &&
        cookies !== undefined &&
        cookies.includes(session.cookieName) &&
        acceptsSession(request.routeOptions.url)
          ? cookieValues(cookies, session.cookieName)[0]
          : undefined;
      if (token === undefined) return done(authorize(request));
      fromSession(request, token).then(
        (refusal) => done(refusal ?? authorize(request)),
        (error: Error) => done(error),
      );
      return;
    }
    // Parsed and hashed once, whichever path the request then takes.
    const credential = bearer(header);
    // A key this replica resolved within AUTH_CACHE_MS, from a client with no failed attempt known:
    // answered from memory, no promise on the path.
    if (credential && (!guard || guard.clear?.(request)) && fromCache(request, credential))
      return done(authorize(request));
    if (!guard) {
      authenticate(request, reply, credential).then(
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
        authenticate(request, reply, credential).then(
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

  /**
   * The session cookie's account, for the page's routes only. An unknown, expired or revoked
   * session is anonymous (the route then asks for authentication), never an error on a public
   * route. A state-changing request needs the session's CSRF token and the site's own Origin.
   */
  async function fromSession(request: FastifyRequest, token: string): Promise<Error | undefined> {
    const account = await sessionAccount(db, token);
    if (!account) return undefined;
    if (
      !SAFE.has(request.method) &&
      (request.headers.origin !== session!.origin || !csrfValid(token, request.headers['x-csrf-token']))
    )
      return new SessionCsrf();
    request.account = account;
    request.principal = { kind: 'account', id: account.id };
    return undefined;
  }

  /**
   * A Bearer credential: the token and its SHA-256 in hex (the cache's key, looked up for an account's, compared as
   * bytes with the admin key's).
   */
  function bearer(header: string): Credential | null {
    const token = bearerToken(header);
    return token === null ? null : { token, key: hashApiKey(token) };
  }

  function cached(key: string): CacheEntry | undefined {
    const hit = cacheMs > 0 ? cache.get(key) : undefined;
    return hit && hit.until > Date.now() ? hit : undefined;
  }

  /**
   * The key's account from the database. Its last use (GET /v1/keys) is written when the stored one
   * is a minute old or more, without waiting: one write a minute per key at most, none on the path.
   */
  async function lookUp(c: Credential): Promise<Account | null> {
    const found = await resolveApiKey(db, c.token, c.key);
    if (!found) return null;
    const now = Date.now();
    if (!found.lastUsedAt || now - found.lastUsedAt.getTime() >= KEY_USE_RESOLUTION_MS) {
      recordKeyUse(db, found.keyId, new Date(now)).catch((error: unknown) =>
        app.log.warn({ err: errorCodes(error) }, "auth: a key's last use was not recorded"),
      );
    }
    return found.account;
  }

  async function resolve(c: Credential): Promise<Account | null> {
    if (cacheMs <= 0) return lookUp(c);
    const hit = cached(c.key);
    if (hit) return hit.account;
    const started = generation;
    const account = await lookUp(c);
    forget(c.key);
    if (account && generation === started) {
      if (cache.size >= CACHE_ENTRIES) forget(cache.keys().next().value!);
      cache.set(c.key, {
        account,
        principal: Object.freeze({ kind: 'account', id: account.id }),
        until: Date.now() + cacheMs,
      });
      let keys = byAccount.get(account.id);
      if (!keys) byAccount.set(account.id, (keys = new Set()));
      keys.add(c.key);
    }
    return account;
  }

  /**
   * authenticate() when its answer is an account in the cache; false when it is not (nothing is
   * set then). A hit is never the admin key (see `cache`), so no comparison with it is needed here.
   */
  function fromCache(request: FastifyRequest, c: Credential): boolean {
    const hit = cached(c.key);
    if (!hit) return false;
    request.account = hit.account;
    request.principal = hit.principal;
    return true;
  }

  async function authenticate(request: FastifyRequest, reply: FastifyReply, c: Credential | null): Promise<void> {
    if (!c) throw new AuthInvalid();
    if (digestEquals(Buffer.from(c.key, 'hex'), adminDigest)) {
      request.principal = ADMIN;
      // An admin action may change any account: this replica forgets them all once it is answered
      // (or the connection is gone, the action's outcome unknown). The code that changes one
      // account (a correction, a deletion, a request's outcome) forgets that one itself. A
      // listener on this response only, not an onResponse hook that every request would run.
      if (cacheMs > 0 && !SAFE.has(request.method)) reply.raw.once('close', () => invalidate());
      return;
    }
    const account = await resolve(c);
    if (!account) throw new AuthInvalid();
    request.account = account;
    request.principal = { kind: 'account', id: account.id };
  }
};

interface Credential {
  token: string;
  /** SHA-256 of the token, hex. */
  key: string;
}

interface CacheEntry {
  account: Account;
  /** Frozen and shared by every request the entry answers. */
  principal: Principal;
  until: number;
}

const ADMIN: Principal = Object.freeze({ kind: 'admin', id: 'admin' });

export default fp(auth, { name: 'harakaflow-auth', fastify: '5.x' });
