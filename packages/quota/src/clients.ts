/** A request's client and account as quota keys them, made once per address or id (the hot path allocates none). */
import type { FastifyRequest } from 'fastify';
import { Memo } from './cache.js';
import type { Keys } from './keys.js';

/**
 * A request's client (set in onRequest): the keys its bans are read and written under, the key
 * its counters use first (then previous secrets' and the legacy raw key), and whether it is
 * allow-listed.
 */
export type Client = { keys: string[]; skip: boolean };

/** The request property holding its Client (declared with decorateRequest). */
export const CLIENT = Symbol('quotaClient');

export const clientOf = (request: FastifyRequest) => (request as unknown as Record<symbol, Client | null>)[CLIENT];

/** The Client of an address, made once per address (bounded memo). */
export function clientsBy(keys: Keys, allowIp: (ip: string) => boolean): (ip: string) => Client {
  const clients = new Memo<Client>(10_000);
  return (ip) => clients.get(ip) ?? clients.set(ip, { keys: keys.clientForms(ip), skip: allowIp(ip) });
}

/** The ban forms of an account id, made once per id (bounded memo). */
export function accountsBy(keys: Keys): (id: string) => string[] {
  const accounts = new Memo<string[]>(10_000);
  return (id) => accounts.get(id) ?? accounts.set(id, keys.accountForms(id));
}
