import './fastify.js';
import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import vault from './plugin.js';

export { decrypt, encrypt, freshNonce, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from './aead.js';
export {
  DEFAULT_NAMESPACE,
  FORMAT_VERSION,
  keyIdOf,
  MAX_PLAINTEXT,
  NAMESPACE_PATTERN,
  open,
  parse,
  placeBytes,
  rewrap,
  seal,
  serialize,
} from './envelope.js';
export type { Envelope, RecordPlace } from './envelope.js';
export { LocalKeyProvider, parseVaultKeys } from './keyring.js';
export type { KeyProvider } from './keyring.js';
export { DecryptFailed, KeyUnavailable, StoreFailed, VaultError } from './errors.js';
export { VaultStore } from './store.js';
export type { StoredName, UnreadableRecord } from './store.js';
export { BufferJSON, decodeJson, encodeJson, useVaultAuthState } from './auth-state.js';
export type { AuthStateOptions, VaultAuthState } from './auth-state.js';
export { vaultPersonalData } from './plugin.js';
export type { VaultOptions } from './options.js';
export { secrets as vaultSecrets } from './schema.js';

/** The vault's migrations (schema `vault`). */
export const vaultMigrations: MigrationSet = {
  name: 'vault',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export const harakaflowVault = fp(vault, { name: '@harakaflow/credential-vault', fastify: '5.x' });
export default harakaflowVault;
