/**
 * Errors of the vault's core. A decryption failure says HF_VAULT_DECRYPT_FAILED and nothing more:
 * which check failed (format, key, tag) is information an attacker could use.
 */
export class VaultError extends Error {
  readonly code: string;
  readonly statusCode: number;
  constructor(code: string, message: string, statusCode: number) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

export const decryptFailed = () => new VaultError('HF_VAULT_DECRYPT_FAILED', 'HF_VAULT_DECRYPT_FAILED', 500);
export const keyUnavailable = () => new VaultError('HF_VAULT_KEY_UNAVAILABLE', 'The key that encrypted this record is not in the keyring', 500);
export const invalidKeys = (why: string) => Object.assign(new TypeError(`@harakaflow/credential-vault: VAULT_KEYS ${why}`), { code: 'HF_VAULT_INVALID_KEYS' });
