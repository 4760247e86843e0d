import { checkDatabaseOption, optionErrors, registerPersonalDataHandler, type PersonalDataHandler } from '@harakaflow/core';
import type { Database } from '@harakaflow/db';
import type { FastifyPluginAsync } from 'fastify';
import { LocalKeyProvider, type KeyProvider } from './keyring.js';
import { VaultStore } from './store.js';

export interface VaultOptions {
  /** The database (schema `vault`). Required. */
  db: Database;
  /** A KeyProvider, or VAULT_KEYS text (`id:base64,...`, the first active). Required. */
  keys: KeyProvider | string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The credential vault: put, get, getMany, putMany, delete, list, deleteSession, deleteAccount, status, rewrapBatch. */
    vault: VaultStore;
  }
}

const invalidOption = optionErrors('@harakaflow/credential-vault', 'HF_VAULT_INVALID_OPTION');

/** What the vault holds about a subject: names and times, never plaintext. Erase deletes every record. */
export function vaultPersonalData(vault: VaultStore): PersonalDataHandler {
  return {
    name: 'vault',
    identifiers: ['account'],
    withheld: 'secret values: records are listed by namespace, session, name and dates only',
    async exportSubject(ref) {
      const names = await vault.list((ref as { accountId: string }).accountId);
      return { records: names.map((n) => ({ namespace: n.namespace, sessionId: n.sessionId, name: n.name, createdAt: n.createdAt.toISOString(), updatedAt: n.updatedAt.toISOString() })) };
    },
    async eraseSubject(ref) {
      return { erased: await vault.deleteAccount((ref as { accountId: string }).accountId) };
    },
  };
}

const vault: FastifyPluginAsync<VaultOptions> = async (fastify, options) => {
  const db = checkDatabaseOption(options.db, invalidOption);
  let keys: KeyProvider;
  if (typeof options.keys === 'string') {
    // parseVaultKeys throws HF_VAULT_INVALID_KEYS, naming the entry, never the key material.
    keys = new LocalKeyProvider(options.keys);
  } else if (options.keys && typeof options.keys.wrap === 'function' && typeof options.keys.unwrap === 'function') {
    keys = options.keys;
  } else {
    throw invalidOption('keys', 'must be a KeyProvider or VAULT_KEYS text');
  }
  const store = new VaultStore(db, keys);
  fastify.decorate('vault', store);
  registerPersonalDataHandler(fastify, vaultPersonalData(store));
};

export default vault;
