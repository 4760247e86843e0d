// What an account's own answers show of it: one frozen view per account row.
import { emailVerified } from './email-verification.js';
import type { Account } from './schema-accounts.js';

export interface PublicAccount {
  readonly id: string;
  readonly name: string;
  readonly email: string;
  /**
   * Has the account shown `email` to be its own (a code sent there)? Until then only a few kinds of message go to it.
   */
  readonly emailVerified: boolean;
  readonly businessName: string | null;
  readonly createdAt: string;
}

// One view per account row object: the auth cache hands the same row to every request of a key
// within AUTH_CACHE_MS, so GET /v1/me builds it (and formats its date) once, not per request.
// Rows are never changed in place (a correction reads a new row), so a view never goes stale.
const publicViews = new WeakMap<Account, PublicAccount>();

/**
 * What an account's own answers show of it (never its plan's internals or deletion marks). Frozen: shared between
 * responses.
 */
export function publicAccount(account: Account): PublicAccount {
  let view = publicViews.get(account);
  if (view === undefined) {
    view = Object.freeze({
      id: account.id,
      name: account.name,
      email: account.email,
      emailVerified: emailVerified(account),
      businessName: account.businessName,
      createdAt: account.createdAt.toISOString(),
    });
    publicViews.set(account, view);
  }
  return view;
}
