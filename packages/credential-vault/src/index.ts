/**
 * @harakaflow/credential-vault: envelope encryption of secrets (the core, as plain functions), the
 * encrypted store, and the Fastify plugin (`fastify.vault`). What the kit's own tests and app share
 * beyond this is in `./internals.ts` (not a stable API).
 */
import './fastify.js';
import type { MigrationSet } from '@harakaflow/db';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';
import vault from './plugin.js';

export { decrypt, encrypt } from './aead.js';
export { keyIdOf, open, parse, rewrap, seal, serialize } from './envelope.js';
export type { Envelope, RecordPlace } from './envelope.js';
export { LocalKeyProvider, parseVaultKeys } from './keyring.js';
export type { KeyProvider } from './keyring.js';
export { DecryptFailed, InvalidKeys, KeyUnavailable, StoreFailed, VaultError } from './errors.js';
export type { VaultErrorCode } from './errors.js';
export { VaultStore } from './store.js';
export type { StoredName } from './store.js';
export type { UnreadableRecord } from './store-rotation.js';
export { BufferJSON, useVaultAuthState } from './auth-state.js';
export type { AuthStateOptions, VaultAuthState } from './auth-state.js';
export { vaultPersonalData } from './plugin.js';
export type { VaultOptions } from './options.js';

/** The vault's migrations (schema `vault`). */
export const vaultMigrations: MigrationSet = {
  name: 'vault',
  folder: fileURLToPath(new URL('../drizzle', import.meta.url)),
};

export const harakaflowVault = fp(vault, { name: '@harakaflow/credential-vault', fastify: '5.x' });
export default harakaflowVault;
