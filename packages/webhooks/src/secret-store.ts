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

type Place = { namespace?: string; accountId: string; sessionId: string; name: string };

/** The part of @harakaflow/credential-vault's store this needs (no dependency on the package). */
export interface VaultLike {
  put(place: Place, value: Uint8Array): Promise<unknown>;
  get(place: Place): Promise<{ value: Buffer } | null>;
  delete(place: Place): Promise<unknown>;
  /** Re-seals a record under another place (namespace migration). */
  move?(from: Place, to: Place): Promise<boolean>;
}

/**
 * The vault namespace of endpoint secrets (issue 12 item 11): the customer-facing credentials
 * routes reach only `whatsapp`, and the namespace is part of each record's associated data.
 */
export const VAULT_NAMESPACE = 'webhooks';
export const VAULT_SESSION = 'endpoints';
/**
 * Where the earlier version kept them: session `webhook-endpoints` of the default namespace, which
 * the credentials routes could address. Read (and moved) until none is left; the app reserves
 * this session id so no customer can write there.
 */
export const LEGACY_VAULT_SESSION = 'webhook-endpoints';

export function vaultSecretStore(vault: VaultLike): SecretStore {
  const name = (endpointId: string, slot: SecretSlot) => `${endpointId}.${slot}`;
  const place = (accountId: string, endpointId: string, slot: SecretSlot): Place => ({
    namespace: VAULT_NAMESPACE,
    accountId,
    sessionId: VAULT_SESSION,
    name: name(endpointId, slot),
  });
  const legacy = (accountId: string, endpointId: string, slot: SecretSlot): Place => ({
    accountId,
    sessionId: LEGACY_VAULT_SESSION,
    name: name(endpointId, slot),
  });
  return {
    async put(accountId, endpointId, slot, secret) {
      await vault.put(place(accountId, endpointId, slot), Buffer.from(secret, 'utf8'));
      await vault.delete(legacy(accountId, endpointId, slot));
    },
    async get(accountId, endpointId, slot) {
      let found = await vault.get(place(accountId, endpointId, slot));
      if (!found) {
        // A secret written by the earlier version: moved into the namespace on first read.
        const old = await vault.get(legacy(accountId, endpointId, slot));
        if (!old) return null;
        if (vault.move) await vault.move(legacy(accountId, endpointId, slot), place(accountId, endpointId, slot));
        found = old;
      }
      return found.value.toString('utf8');
    },
    async delete(accountId, endpointId) {
      for (const slot of ['current', 'previous'] as const) {
        await vault.delete(place(accountId, endpointId, slot));
        await vault.delete(legacy(accountId, endpointId, slot));
      }
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
