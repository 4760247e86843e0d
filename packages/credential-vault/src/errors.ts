/**
 * Errors of the vault's core. A decryption failure says HF_VAULT_DECRYPT_FAILED and nothing more:
 * which check failed (format, key, tag) is information an attacker could use.
 */
import createError from '@fastify/error';

/** The base of the vault's errors (`instanceof VaultError`); each is made with @fastify/error and carries its status. */
export class VaultError extends Error {}

/** A stored record cannot be opened: it is damaged or was moved (500: nothing about why). */
export const DecryptFailed = createError('HF_VAULT_DECRYPT_FAILED', 'HF_VAULT_DECRYPT_FAILED', 500, VaultError);
/** The KEK that wrapped a record is not in the keyring (503: the service lacks a key, the record may be fine). */
export const KeyUnavailable = createError('HF_VAULT_KEY_UNAVAILABLE', 'The key that encrypted this record is not in the keyring', 503, VaultError);

export const decryptFailed = () => new DecryptFailed();
export const keyUnavailable = () => new KeyUnavailable();
export const invalidKeys = (why: string) => Object.assign(new TypeError(`@harakaflow/credential-vault: VAULT_KEYS ${why}`), { code: 'HF_VAULT_INVALID_KEYS' });
