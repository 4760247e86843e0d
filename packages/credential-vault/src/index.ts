// The vault's core (issue 6, first part): plain functions, no Fastify. The store, the auth-state
// adapter, the plugin and the CLI build on these.
export { decrypt, encrypt, freshNonce, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from './aead.js';
export { FORMAT_VERSION, keyIdOf, MAX_PLAINTEXT, open, parse, placeBytes, rewrap, seal, serialize } from './envelope.js';
export type { Envelope, RecordPlace } from './envelope.js';
export { LocalKeyProvider, parseVaultKeys } from './keyring.js';
export type { KeyProvider } from './keyring.js';
export { VaultError } from './errors.js';
