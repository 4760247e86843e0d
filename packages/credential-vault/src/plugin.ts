import { registerPersonalDataHandler, type PersonalDataHandler } from '@harakaflow/core';
import type { FastifyPluginAsync } from 'fastify';
import './fastify.js';
import { resolveOptions, type VaultOptions } from './options.js';
import { VaultStore } from './store.js';

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
  const { db, keys } = resolveOptions(options);
  const store = new VaultStore(db, keys);
  fastify.decorate('vault', store);
  registerPersonalDataHandler(fastify, vaultPersonalData(store));
};

export default vault;
