/** The app's secrets (SECRET_SPECS): each one's variable, meaning, generator and check; and the one list splitter. */
import { randomBytes } from 'node:crypto';
import { AuditSigningKeys, generateAuditSigningKey } from '@harakaflow/audit';
import { parseVaultKeys } from '@harakaflow/credential-vault';
import { generateSigningKey, SigningKeys } from '@harakaflow/data-rights';
import type { SecretSpec, Secrets } from './types.js';

/** The entries of a comma-separated secret list, trimmed, empty ones dropped: the one splitter (issue 19 item 7). */
export function splitSecrets(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A comma-separated list of HMAC secrets (rotation: the first signs, all verify). */
function secretList(env: string, key: keyof Secrets, meaning: string): SecretSpec {
  return {
    env,
    key,
    meaning,
    generate: () => randomBytes(32).toString('base64url'),
    check: (v) =>
      v.split(',').some((s) => s.trim().length < 32) // an empty entry is refused here, not dropped
        ? 'must be a comma-separated list of secrets of at least 32 characters each (the first signs)'
        : undefined,
  };
}

/**
 * A check by the parser of a key list: the parser names the bad entry, never its key material, and
 * its message is kept from the variable's name on.
 */
function parsedBy(env: string, parse: (value: string) => unknown): SecretSpec['check'] {
  return (v) => {
    try {
      parse(v);
      return undefined;
    } catch (error) {
      return (error as Error).message.replace(new RegExp(`^.*${env} `), 'is invalid: ');
    }
  };
}

/**
 * The id of a generated key: its purpose and the day it was made (`dev-2026-12-06`, `k-2026-12-06`), so a rotation's
 * new key differs by date.
 */
const keyId = (purpose: 'development' | 'production' = 'development') =>
  `${purpose === 'production' ? 'k' : 'dev'}-${new Date().toISOString().slice(0, 10)}`;

export const SECRET_SPECS: readonly SecretSpec[] = [
  {
    env: 'ADMIN_API_KEY',
    key: 'adminApiKey',
    meaning: 'secret (≥ 32 characters) of the admin principal',
    generate: () => `hf_admin_${randomBytes(32).toString('base64url')}`,
    check: (v) => (v.length < 32 ? 'must be at least 32 characters' : undefined),
  },
  secretList(
    'CONSENT_SECRETS',
    'consentSecrets',
    'comma-separated HMAC secrets (≥ 32 characters each) of the consent cookie; the first signs, all verify (rotation: prepend the new one)',
  ),
  secretList(
    'AGE_GATE_SECRETS',
    'ageGateSecrets',
    "comma-separated HMAC secrets (≥ 32 characters each) of the age gate's block cookie",
  ),
  secretList(
    'AUDIT_CHECKPOINT_KEYS',
    'auditCheckpointKeys',
    "comma-separated HMAC keys (≥ 32 characters each) that sign the audit log's checkpoints; the first signs, all verify. Keep a copy outside the database: `hf-audit verify` needs it",
  ),
  secretList(
    'NOTIFY_UNSUBSCRIBE_SECRETS',
    'notifyUnsubscribeSecrets',
    'HMAC secrets (≥ 32 characters, comma-separated, the first signs) of one-click unsubscribe links',
  ),
  {
    env: 'DATA_RIGHTS_SIGNING_KEYS',
    key: 'dataRightsSigningKeys',
    meaning:
      "Ed25519 keys of export manifests and erasure receipts: `id:base64-of-a-32-byte-seed`, comma-separated, the first signs; every one's public key is served at `/.well-known/harakaflow-signing-keys.json` (rotation: prepend a new one, keep the old ones listed)",
    generate: (purpose) => generateSigningKey(keyId(purpose)),
    check: parsedBy('DATA_RIGHTS_SIGNING_KEYS', (v) => new SigningKeys(v)),
  },
  {
    env: 'DATA_RIGHTS_SUBJECT_KEY',
    key: 'dataRightsSubjectKey',
    meaning:
      'HMAC key (≥ 32 characters) of the subject hashes kept after an erasure; keep a copy outside the database: re-applying erasures after a restore needs it',
    generate: () => randomBytes(32).toString('base64url'),
    check: (v) => (v.length < 32 ? 'must be at least 32 characters' : undefined),
  },
  {
    env: 'VAULT_KEYS',
    key: 'vaultKeys',
    meaning:
      'key-encryption keys of the credential vault: `id:base64-of-32-bytes`, comma-separated, the first active (rotation: prepend a new one, run `hf-vault rewrap`, remove the old one when `hf-vault status` shows 0)',
    generate: (purpose) => `${keyId(purpose)}:${randomBytes(32).toString('base64')}`,
    check: parsedBy('VAULT_KEYS', (v) => parseVaultKeys(v)),
  },
  {
    env: 'AUDIT_SIGNING_KEYS',
    key: 'auditSigningKeys',
    meaning:
      "Ed25519 keys that sign the audit log's checkpoints as C2SP signed notes (issue 33): `id:base64-of-a-32-byte-seed`, comma-separated, the first signs; every one's public key is served at `/.well-known/harakaflow-audit-keys.txt` (signed-note verifier keys, key name `AUDIT_LOG_ORIGIN`) and `/.well-known/harakaflow-audit-keys.json` (JWK set), and `hf-audit verify --public-key FILE` checks the log with either file (rotation: prepend a new one, keep the old ones listed)",
    generate: (purpose) => generateAuditSigningKey(keyId(purpose)),
    check: parsedBy('AUDIT_SIGNING_KEYS', (v) => new AuditSigningKeys(v, 'origin')),
    optionalInProduction: {
      code: 'HF_AUDIT_SIGNING_KEYS_UNSET',
      warning:
        'AUDIT_SIGNING_KEYS is not set: audit checkpoints are HMAC-only (no signed notes, no /.well-known/harakaflow-audit-keys.*, no hf-audit verify --public-key). ' +
        'Set it (npx pnpm@10 secrets prints one); it will be required in production in the next release',
      shown:
        'generated in development; optional in production for this release (unset: a startup warning, `HF_AUDIT_SIGNING_KEYS_UNSET`, and HMAC-only checkpoints)',
    },
  },
  {
    ...secretList(
      'QUOTA_CLIENT_KEY_SECRET',
      'quotaClientKeySecret',
      "comma-separated HMAC secrets (≥ 32 characters each) of quota's client keys: Redis and `quota.rate_limits` hold `ipk:` + an HMAC of each client IP (its /64 for IPv6) under the first, never the IP; bans are also read and written under the others (rotation: prepend the new one, drop the old one once every replica has the new list). Every replica sharing the store needs the same list. Setting it on a deployment that ran without it: see `QUOTA_CLIENT_KEY_ROLLING`",
    ),
    optionalInProduction: {
      shown:
        'generated in development; optional in production (unset: derived from `DATA_RIGHTS_SUBJECT_KEY`, as before issue 35)',
    },
  },
];
