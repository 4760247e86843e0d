/**
 * `@harakaflow/credential-vault/internals`: what the kit's own tests, benchmarks and app reach beyond
 * the public API (the AEAD's sizes and nonce source, the envelope's layout constants, the JSON codec
 * of auth-state values, the table). Not a stable API: it may change in any release.
 */
export { freshNonce, KEY_BYTES, NONCE_BYTES, TAG_BYTES } from './aead.js';
export { DEFAULT_NAMESPACE, FORMAT_VERSION, MAX_PLAINTEXT, NAMESPACE_PATTERN, placeBytes } from './envelope.js';
export { decodeJson, encodeJson } from './auth-state.js';
export { secrets as vaultSecrets } from './schema.js';
