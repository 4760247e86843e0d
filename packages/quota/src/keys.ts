/**
 * The keys limits and bans are stored under, in two key spaces that cannot meet: clients by IP
 * (`ip:`/`ip6:` raw, or `ipk:` and an HMAC of it when there is a secret) and accounts (`acct:<id>`).
 * Before issue 19 an account counted under its bare id, so an account id such as `ip:10.0.0.1`
 * shared its counters and bans with that client.
 *
 * While a secret rolls (`clientKeys.previous`), a client's bans are also read and written under its
 * key under each previous secret, so replicas on either secret honour each other's bans; counters
 * use the current secret only.
 */
import { createHash, createHmac } from 'node:crypto';
import { Memo } from './cache.js';
import { clientKey } from './core.js';

type Secret = string | Uint8Array;

/** A raw client key under a secret: `ipk:` and the first 128 bits of its HMAC-SHA256. */
const keyed = (secret: Secret, raw: string) =>
  `ipk:${createHmac('sha256', secret).update(raw).digest('base64url').slice(0, 22)}`;

export class Keys {
  readonly #secret: Secret | undefined;
  readonly #previous: readonly Secret[];
  readonly #legacyClients: boolean;
  readonly #legacyAccounts: boolean;
  // Clients repeat: normalizing an address (grouping IPv6 by /64) and its HMAC cost more than a lookup.
  readonly #clients = new Memo<string>(10_000);

  constructor(
    secret: Secret | undefined,
    legacyClients: boolean,
    legacyAccounts: boolean,
    previous: readonly Secret[] = [],
  ) {
    this.#secret = secret;
    this.#previous = secret === undefined ? [] : previous;
    this.#legacyClients = legacyClients;
    this.#legacyAccounts = legacyAccounts;
  }

  /** A raw client key (`ip:...`/`ip6:...`) as stored: keyed when there is a secret. */
  stored(raw: string): string {
    return this.#secret === undefined ? raw : keyed(this.#secret, raw);
  }

  /** The stored key of a request's IP. */
  client(ip: string): string {
    // A memo (an evicted client costs one HMAC again).
    return this.#clients.get(ip) ?? this.#clients.set(ip, this.stored(clientKey(ip)));
  }

  /**
   * Every key a request's client is banned under: its stored key first (its counters' key), then
   * its keys under previous secrets, then the raw key while legacy client keys are read too.
   */
  clientForms(ip: string): string[] {
    return this.#rawForms(clientKey(ip), this.#legacyClients, this.client(ip));
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

  /** Every key an account is banned under: `acct:<id>`, and the bare id (before issue 19) while legacy. */
  accountForms(id: string): string[] {
    return this.#legacyAccounts ? [this.account(id), id] : [this.account(id)];
  }

  /**
   * Every key a ban named by an operator is read and written under: `ip:`/`ip6:` client keys in
   * their stored form (then under previous secrets, and raw while legacy), an account id (or
   * `acct:<id>`) under `acct:` (and the bare id while legacy).
   */
  banKeys(key: string): string[] {
    if (key.startsWith('ip:') || key.startsWith('ip6:')) return this.#rawForms(key, this.#legacyClients);
    if (key.startsWith('ipk:')) return [key];
    return this.accountForms(key.startsWith('acct:') ? key.slice(5) : key);
  }

  /** Every form a key might have been stored under, for unban and erasure (legacy on or not). */
  allForms(key: string): string[] {
    if (key.startsWith('ip:') || key.startsWith('ip6:')) return this.#rawForms(key, true);
    if (key.startsWith('ipk:')) return [key];
    const id = key.startsWith('acct:') ? key.slice(5) : key;
    return [this.account(id), id];
  }

  /**
   * A raw client key's stored form, its forms under previous secrets, and itself when `raw` (legacy implies a secret).
   */
  #rawForms(key: string, raw: boolean, stored = this.stored(key)): string[] {
    const forms = [stored];
    for (const secret of this.#previous) forms.push(keyed(secret, key));
    if (raw) forms.push(key);
    return forms;
  }
}
