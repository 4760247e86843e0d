/**
 * A WhatsApp (Baileys) auth state kept in the vault: the contract of Baileys' `useMultiFileAuthState`,
 * so a Baileys backend moves from files to the vault by changing one line:
 *
 *   const { state, saveCreds } = await useVaultAuthState(fastify.vault, { accountId, sessionId, initCreds:
 * initAuthCreds });
 *
 * Baileys is not a dependency (its install reaches outside the npm registry): its types are mirrored
 * structurally. Binary values round-trip exactly with Baileys' BufferJSON conventions.
 */
import type { VaultStore } from './store.js';

/** Baileys' BufferJSON: Buffers and Uint8Arrays become `{ type: 'Buffer', data: <base64> }` in JSON. */
export const BufferJSON = {
  replacer(_key: string, value: unknown): unknown {
    if (Buffer.isBuffer(value) || value instanceof Uint8Array || (value as { type?: unknown })?.type === 'Buffer') {
      const bytes =
        Buffer.isBuffer(value) || value instanceof Uint8Array
          ? Buffer.from(value)
          : Buffer.from((value as { data: number[] }).data);
      return { type: 'Buffer', data: bytes.toString('base64') };
    }
    return value;
  },
  reviver(_key: string, value: unknown): unknown {
    if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer') {
      const data = (value as { data?: unknown }).data;
      if (typeof data === 'string') return Buffer.from(data, 'base64');
      if (Array.isArray(data)) return Buffer.from(data as number[]);
    }
    return value;
  },
};

export const encodeJson = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, BufferJSON.replacer), 'utf8');
export const decodeJson = (bytes: Buffer): unknown => JSON.parse(bytes.toString('utf8'), BufferJSON.reviver);

/** Baileys' `SignalDataTypeMap` keys, structurally: any string type works. */
export type SignalDataType = string;
/** A Signal key value: an object of Buffers (pre-keys) or bare bytes (sessions). */
export type SignalKeyData = unknown;

export interface VaultAuthState<Creds> {
  state: {
    creds: Creds;
    keys: {
      get(type: SignalDataType, ids: string[]): Promise<Record<string, SignalKeyData>>;
      set(data: Record<SignalDataType, Record<string, SignalKeyData | null | undefined>>): Promise<void>;
    };
  };
  saveCreds(): Promise<void>;
}

export interface AuthStateOptions<Creds> {
  accountId: string;
  sessionId: string;
  /** Fresh credentials for a new session: pass Baileys' `initAuthCreds`. */
  initCreds?: () => Creds;
  /**
   * Turns a stored value back into what Baileys expects (e.g. `proto.Message.AppStateSyncKeyData.fromObject` for
   * `app-state-sync-key`).
   */
  decode?: (type: SignalDataType, value: unknown) => unknown;
}

const CREDS = 'creds';
const keyName = (type: string, id: string) => `${type}-${id}`;

export async function useVaultAuthState<Creds = Record<string, unknown>>(
  vault: VaultStore,
  options: AuthStateOptions<Creds>,
): Promise<VaultAuthState<Creds>> {
  const { accountId, sessionId, decode } = options;
  const stored = await vault.get({ accountId, sessionId, name: CREDS });
  const creds = (stored ? decodeJson(stored.value) : (options.initCreds?.() ?? {})) as Creds;
  return {
    state: {
      creds,
      keys: {
        async get(type, ids) {
          const found = await vault.getMany(
            accountId,
            sessionId,
            ids.map((id) => keyName(type, id)),
          );
          const out: Record<string, SignalKeyData> = {};
          for (const id of ids) {
            const bytes = found.get(keyName(type, id));
            if (bytes) out[id] = (decode ? decode(type, decodeJson(bytes)) : decodeJson(bytes)) as SignalKeyData;
          }
          return out;
        },
        async set(data) {
          const entries: { name: string; value: Buffer | null }[] = [];
          for (const [type, values] of Object.entries(data)) {
            for (const [id, value] of Object.entries(values ?? {})) {
              entries.push({
                name: keyName(type, id),
                value: value === null || value === undefined ? null : encodeJson(value),
              });
            }
          }
          await vault.putMany(accountId, sessionId, entries);
        },
      },
    },
    saveCreds: async () => {
      await vault.put({ accountId, sessionId, name: CREDS }, encodeJson(creds));
    },
  };
}
