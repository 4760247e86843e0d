/**
 * Errors of the vault's core. A decryption failure says HF_VAULT_DECRYPT_FAILED and nothing more:
 * which check failed (format, key, tag) is information an attacker could use.
 */
import createError from '@fastify/error';
import { optionErrors } from '@harakaflow/core';

/** Every code an error of the vault carries (README, "Errors"; the reference app adds its own two). */
export type VaultErrorCode =
  | 'HF_VAULT_DECRYPT_FAILED'
  | 'HF_VAULT_KEY_UNAVAILABLE'
  | 'HF_VAULT_STORE_FAILED'
  | 'HF_VAULT_INVALID_KEYS'
  | 'HF_VAULT_INVALID_OPTION';

/**
 * The base of the vault's errors (`instanceof VaultError`); each is made with @fastify/error and
 * carries its status. It stays a class because it is their common base (@fastify/error takes a class
 * as `Base`); it is never thrown itself.
 */
export class VaultError extends Error {}
// @fastify/error types its Base as ErrorConstructor (callable too); a class is what it needs at run time.
const Base = VaultError as unknown as ErrorConstructor;

/** A stored record cannot be opened: it is damaged or was moved (500: nothing about why). */
export const DecryptFailed = createError('HF_VAULT_DECRYPT_FAILED', 'HF_VAULT_DECRYPT_FAILED', 500, Base);
/** The KEK that wrapped a record is not in the keyring (503: the service lacks a key, the record may be fine). */
export const KeyUnavailable = createError(
  'HF_VAULT_KEY_UNAVAILABLE',
  'The key that encrypted this record is not in the keyring',
  503,
  Base,
);

/**
 * A write the database refused. The driver's error is not kept (its message quotes the statement's
 * parameters: ciphertext, and megabytes of it for a large batch): only its codes.
 */
export const StoreFailed = createError('HF_VAULT_STORE_FAILED', 'The vault could not store the records', 503, Base);

export const decryptFailed = () => new DecryptFailed();
export const keyUnavailable = () => new KeyUnavailable();
/** The key-encryption keys given are unusable: a startup error (a TypeError), never an answer to a request. */
export const InvalidKeys = createError(
  'HF_VAULT_INVALID_KEYS',
  '@harakaflow/credential-vault: VAULT_KEYS %s',
  500,
  TypeError,
);
export const invalidKeys = (why: string) => new InvalidKeys(why);

/** A plugin option is missing or invalid: a startup error naming the option (HF_VAULT_INVALID_OPTION). */
export const invalidOption = optionErrors('@harakaflow/credential-vault', 'HF_VAULT_INVALID_OPTION');
