import { metrics, registerPersonalDataHandler, type PersonalDataHandler } from '@harakaflow/core';
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
      return {
        records: names.map((n) => ({
          namespace: n.namespace,
          sessionId: n.sessionId,
          name: n.name,
          createdAt: n.createdAt.toISOString(),
          updatedAt: n.updatedAt.toISOString(),
        })),
      };
    },
    async eraseSubject(ref) {
      return { erased: await vault.deleteAccount((ref as { accountId: string }).accountId) };
    },
  };
}

const vault: FastifyPluginAsync<VaultOptions> = async (fastify, options) => {
  const { db, keys } = resolveOptions(options);
  // Reported through core's metrics interface; the label is the failure's code, never the record's place.
  const failures = metrics(fastify).counter({
    name: 'harakaflow_vault_decryption_failures_total',
    help: 'Vault records that did not open when read (HF_VAULT_DECRYPT_FAILED: damaged or moved; HF_VAULT_KEY_UNAVAILABLE: its key is not in the keyring; other: the key provider failed), by code',
    labelNames: ['code'],
  });
  const store = new VaultStore(db, keys, { onOpenFailed: (code) => failures.inc({ code }) });
  fastify.decorate('vault', store);
  registerPersonalDataHandler(fastify, vaultPersonalData(store));
};

export default vault;
