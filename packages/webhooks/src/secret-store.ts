/**
 * Where endpoint secrets live. Never in the webhooks tables: the reference app keeps them in the
 * credential vault (envelope-encrypted), through `vaultSecretStore`.
 */
export type SecretSlot = 'current' | 'previous';

export interface SecretStore {
  put(accountId: string, endpointId: string, slot: SecretSlot, secret: string): Promise<void>;
  get(accountId: string, endpointId: string, slot: SecretSlot): Promise<string | null>;
  /** Removes both slots. */
  delete(accountId: string, endpointId: string): Promise<void>;
}

/** The part of @harakaflow/credential-vault's store this needs (no dependency on the package). */
export interface VaultLike {
  put(place: { accountId: string; sessionId: string; name: string }, value: Uint8Array): Promise<unknown>;
  get(place: { accountId: string; sessionId: string; name: string }): Promise<{ value: Buffer } | null>;
  delete(place: { accountId: string; sessionId: string; name: string }): Promise<unknown>;
}

/** Session id under which endpoint secrets sit in the vault. */
export const VAULT_SESSION = 'webhook-endpoints';

export function vaultSecretStore(vault: VaultLike): SecretStore {
  const place = (accountId: string, endpointId: string, slot: SecretSlot) => ({ accountId, sessionId: VAULT_SESSION, name: `${endpointId}.${slot}` });
  return {
    async put(accountId, endpointId, slot, secret) {
      await vault.put(place(accountId, endpointId, slot), Buffer.from(secret, 'utf8'));
    },
    async get(accountId, endpointId, slot) {
      const found = await vault.get(place(accountId, endpointId, slot));
      return found ? found.value.toString('utf8') : null;
    },
    async delete(accountId, endpointId) {
      await vault.delete(place(accountId, endpointId, 'current'));
      await vault.delete(place(accountId, endpointId, 'previous'));
    },
  };
}

/** Secrets in memory: for tests and throwaway development only (they do not survive a restart). */
export function memorySecretStore(): SecretStore {
  const map = new Map<string, string>();
  return {
    async put(a, e, s, secret) {
      map.set(`${a}/${e}/${s}`, secret);
    },
    async get(a, e, s) {
      return map.get(`${a}/${e}/${s}`) ?? null;
    },
    async delete(a, e) {
      map.delete(`${a}/${e}/current`);
      map.delete(`${a}/${e}/previous`);
    },
  };
}
