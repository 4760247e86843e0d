import { checkDatabaseOption } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import { invalidOption } from './errors.js';
import { LocalKeyProvider, type KeyProvider } from './keyring.js';

export interface VaultOptions {
  /** The database (schema `vault`). Required. */
  db: Database;
  /** A KeyProvider, or VAULT_KEYS text (`id:base64,...`, the first active). Required. */
  keys: KeyProvider | string;
}

/** The options checked (HF_VAULT_INVALID_OPTION, or HF_VAULT_INVALID_KEYS naming the entry, never the key material). */
export function resolveOptions(options: VaultOptions): { db: Database; keys: KeyProvider } {
  const db = checkDatabaseOption(options.db, invalidOption);
  if (typeof options.keys === 'string') return { db, keys: new LocalKeyProvider(options.keys) };
  if (options.keys && typeof options.keys.wrap === 'function' && typeof options.keys.unwrap === 'function')
    return { db, keys: options.keys };
  throw invalidOption('keys', 'must be a KeyProvider or VAULT_KEYS text');
}
