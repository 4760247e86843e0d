/**
 * The keys limits and bans are stored under, in two key spaces that cannot meet: clients by IP
 * (`ip:`/`ip6:` raw, or `ipk:` and an HMAC of it when there is a secret) and accounts (`acct:<id>`).
 * Before issue 19 an account counted under its bare id, so an account id such as `ip:10.0.0.1`
 * shared its counters and bans with that client.
 */
import { createHash, createHmac } from 'node:crypto';
import { Memo } from './cache.js';
import { clientKey } from './core.js';

export class Keys {
  readonly #secret: string | Uint8Array | undefined;
  readonly #legacyClients: boolean;
  readonly #legacyAccounts: boolean;
  // Clients repeat: normalizing an address (grouping IPv6 by /64) and its HMAC cost more than a lookup.
  readonly #clients = new Memo<string>(10_000);

  constructor(secret: string | Uint8Array | undefined, legacyClients: boolean, legacyAccounts: boolean) {
    this.#secret = secret;
    this.#legacyClients = legacyClients;
    this.#legacyAccounts = legacyAccounts;
  }

  /** A raw client key (`ip:...`/`ip6:...`) as stored: keyed when there is a secret. */
  stored(raw: string): string {
    return this.#secret === undefined
      ? raw
      : `ipk:${createHmac('sha256', this.#secret).update(raw).digest('base64url').slice(0, 22)}`;
  }

  /** The stored key of a request's IP. */
  client(ip: string): string {
    // A memo (an evicted client costs one HMAC again).
    return this.#clients.get(ip) ?? this.#clients.set(ip, this.stored(clientKey(ip)));
  }

  /** The raw key of an IP while legacy client keys are read too, else undefined. */
  legacyClient(ip: string): string | undefined {
    return this.#legacyClients ? clientKey(ip) : undefined;
  }

  /**
   * A key a caller names (an address a route limits, a sender): `nk:` and the first 128 bits of an
   * HMAC of it (SHA-256 without a secret), so the store never holds it as given.
   */
  named(raw: string): string {
    const mac = this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
    return `nk:${mac.update(`named:${raw}`).digest('base64url').slice(0, 22)}`;
  }

  /** An account's key. */
  account(id: string): string {
    return `acct:${id}`;
  }

  /** The bare id an account's bans were kept under before issue 19, while those are read too. */
  legacyAccount(id: string): string | undefined {
    return this.#legacyAccounts ? id : undefined;
  }

  /**
   * Every key a ban named by an operator is read and written under: `ip:`/`ip6:` client keys in
   * their stored form (and raw while legacy), an account id (or `acct:<id>`) under `acct:` (and the
   * bare id while legacy).
   */
  banKeys(key: string): string[] {
    if (key.startsWith('ip:') || key.startsWith('ip6:'))
      return this.#legacyClients ? [this.stored(key), key] : [this.stored(key)];
    if (key.startsWith('ipk:')) return [key];
    const id = key.startsWith('acct:') ? key.slice(5) : key;
    return this.#legacyAccounts ? [this.account(id), id] : [this.account(id)];
  }

  /** Every form a key might have been stored under, for unban and erasure (legacy on or not). */
  allForms(key: string): string[] {
    if (key.startsWith('ip:') || key.startsWith('ip6:')) return [this.stored(key), key];
    if (key.startsWith('ipk:')) return [key];
    const id = key.startsWith('acct:') ? key.slice(5) : key;
    return [this.account(id), id];
  }
}
