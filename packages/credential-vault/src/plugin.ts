import { registerPersonalDataHandler, type PersonalDataHandler } from '@harakaflow/core';
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

const invalidOption = (option: string, why: string) =>
  Object.assign(new TypeError(`@harakaflow/credential-vault: option "${option}" ${why}`), { code: 'HF_VAULT_INVALID_OPTION' });

/** What the vault holds about a subject: names and times, never plaintext. Erase deletes every record. */
export function vaultPersonalData(vault: VaultStore): PersonalDataHandler {
  return {
    name: 'vault',
    async exportSubject(subjectId) {
      const names = await vault.list(subjectId);
      return { records: names.map((n) => ({ sessionId: n.sessionId, name: n.name, createdAt: n.createdAt.toISOString(), updatedAt: n.updatedAt.toISOString() })) };
    },
    async eraseSubject(subjectId) {
      return { erased: await vault.deleteAccount(subjectId) };
    },
  };
}

const vault: FastifyPluginAsync<VaultOptions> = async (fastify, options) => {
  if (!options.db || typeof (options.db as { select?: unknown }).select !== 'function') throw invalidOption('db', 'must be a drizzle PgDatabase');
  let keys: KeyProvider;
  if (typeof options.keys === 'string') {
    // parseVaultKeys throws HF_VAULT_INVALID_KEYS, naming the entry, never the key material.
    keys = new LocalKeyProvider(options.keys);
  } else if (options.keys && typeof options.keys.wrap === 'function' && typeof options.keys.unwrap === 'function') {
    keys = options.keys;
  } else {
    throw invalidOption('keys', 'must be a KeyProvider or VAULT_KEYS text');
  }
  const store = new VaultStore(options.db, keys);
  fastify.decorate('vault', store);
  registerPersonalDataHandler(fastify, vaultPersonalData(store));
};

export default vault;
