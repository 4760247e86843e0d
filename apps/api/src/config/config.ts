import type { Subprocessor } from '../privacy/subprocessors.js';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseVaultKeys } from '@harakaflow/credential-vault';
import { AuditSigningKeys, generateAuditSigningKey, isKeyName, type AuditOptions } from '@harakaflow/audit';
import type { PolicyVersionInput } from '@harakaflow/consent';
import { generateSigningKey, SigningKeys } from '@harakaflow/data-rights';
import { ENV_VARIABLES, isUrl } from './variables.js';
import { redisProblems, type HostPort } from '../wiring/redis.js';

/**
 * Configuration of the reference app, read from the environment. Every bad value is reported
 * (all of them at once, each naming its variable) and stops startup. Secret values are never
 * echoed back in a message.
 */
export type Environment = 'development' | 'production' | 'test';

export interface AppConfig {
  env: Environment;
  port: number;
  host: string;
  /** METRICS_PORT: Prometheus text at GET /metrics on a listener of its own (HOST, this port); undefined: not served. */
  metricsPort: number | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  /** The role that owns the tables runs the migrations (then DATABASE_URL may be a least-privilege role). */
  migrationDatabaseUrl: string | undefined;
  /** DATABASE_POOLER: what DATABASE_URL points at; `transaction` turns off named prepared statements (PgBouncer pool_mode = transaction). */
  databasePooler: 'none' | 'session' | 'transaction';
  redisUrl: string | undefined;
  /** REDIS_TLS_CA_FILE: a private CA trusted besides the system's for `rediss://`. */
  redisTlsCaFile: string | undefined;
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME: the quota store is the primary these sentinels name. */
  redisSentinels: HostPort[] | undefined;
  redisSentinelName: string | undefined;
  /** REDIS_CLUSTER_NODES: the quota store is a Redis Cluster. */
  redisClusterNodes: HostPort[] | undefined;
  /** Proxy addresses or CIDRs whose X-Forwarded-For is believed; false trusts none. */
  trustProxy: string[] | false;
  /** Serve https with these PEM files (TLS_CERT_FILE, TLS_KEY_FILE); undefined: plain http (TLS at a trusted proxy). */
  tls: { certFile: string; keyFile: string } | undefined;
  logLevel: string;
  /** Analytics when a visitor has not decided (§7 is opt-out: granted). */
  consentDefaultAnalytics: 'granted' | 'denied';
  /** Delay between a minor's report and the erasure of their data (0: at once). */
  minorErasureDelayMs: number;
  /** How the audit log stores client IPs (policy §1 says IP addresses are collected: full by default). */
  auditIpMode: 'full' | 'truncated' | 'keyed-hash';
  /** HMAC key of AUDIT_IP_MODE=keyed-hash. */
  auditIpHashKey: string | undefined;
  /** Where audit events go while Postgres is unreachable. */
  auditSpillDir: string;
  /** The audit chain format new events are written in (AUDIT_CHAIN_VERSION): 2 (default), 3 once every replica reads it, or 1 during a rolling upgrade. */
  auditChainVersion: 1 | 2 | 3;
  /** The most the spill directory may hold, MB (AUDIT_SPILL_MAX_MB). */
  auditSpillMaxMb: number;
  /** What happens when it is full: drop access events (declared as a gap) or refuse requests with 503. */
  auditSpillFull: 'drop-access' | 'fail-closed';
  /** Seconds between runs of the audit streams' delivery job (AUDIT_STREAMS_INTERVAL_SECONDS); 0: none. */
  auditStreamsIntervalSeconds: number;
  /** Meta's app secret: verifies POST /v1/webhooks/inbound/meta (X-Hub-Signature-256). Unset: that route answers 503. */
  metaAppSecret: string | undefined;
  /** The token Meta echoes when it checks the callback URL (GET /v1/webhooks/inbound/meta). */
  metaVerifyToken: string | undefined;
  /** Deliver webhooks to loopback/private addresses (development and tests only). */
  webhooksAllowPrivateDestinations: boolean;
  /** Deliver webhooks to http:// URLs (development and tests only). */
  webhooksAllowHttp: boolean;
  /** WEBHOOKS_DISABLE_AFTER_DAYS: days of failing every attempt after which an endpoint is disabled (its deliveries held). */
  webhooksDisableAfterDays: number;
  /** Anonymous requests per minute per client IP (IPv6 per /64). */
  quotaAnonRpm: number;
  /** Messages per day of the free plan. */
  quotaFreeMessagesPerDay: number;
  /** Requests per minute of the free plan. */
  quotaFreeRpm: number;
  /** Refusals within 10 minutes that ban a client. */
  quotaBanAfter: number;
  /** Failed authentications per minute per client IP before it is refused without a lookup. */
  quotaAuthFailuresPerMinute: number;
  /** Prefix of the quota's keys in Redis or Postgres (QUOTA_KEY_PREFIX): several apps on one Redis. */
  quotaKeyPrefix: string;
  /** QUOTA_STORE_TIMEOUT_MS: the most one quota store call may take, ms; undefined: the quota's default for its store. */
  quotaStoreTimeoutMs: number | undefined;
  /** QUOTA_LEGACY_CLIENT_KEYS=1: bans also under raw `ip:` keys, for a rolling deploy from a version that stored them. */
  quotaLegacyClientKeys: boolean;
  /** QUOTA_LEGACY_ACCOUNT_KEYS=1: account bans also under the bare account id, for a rolling deploy from a version before `acct:` keys. */
  quotaLegacyAccountKeys: boolean;
  /** A whole request (headers and body) must arrive within this, ms; else 408 HF_REQUEST_TIMEOUT. */
  requestTimeoutMs: number;
  /** Deepest nesting of a JSON body; deeper is 400 HF_VALIDATION_FAILED before anything parses it. */
  maxJsonDepth: number;
  /** Days to answer a rights request (policy §6: 30). */
  dataRightsDueDays: number;
  /** Days between a deletion request and its purge, 0 to 30 (policy §4). */
  dataRightsPurgeAfterDays: number;
  /** Hours an export link stays valid. */
  dataRightsExportTtlHours: number;
  /** SMTP_URL: `smtp://` or `smtps://` with the credentials in it (never logged). Unset: `.eml` files under DATA_DIR/outbox. */
  smtpUrl: string | undefined;
  /** NOTIFY_BOUNCE_IMAP_URL: the bounce mailbox read over IMAP (credentials in it: never logged); undefined: none read. */
  notifyBounceImapUrl: string | undefined;
  /** NOTIFY_FROM: the From address of every message; its domain ends each Message-ID and signs DKIM. */
  notifyFrom: string;
  /** NOTIFY_DKIM_SELECTOR and NOTIFY_DKIM_KEY (a PEM private key, or a path to one): DKIM signing, both or neither. */
  notifyDkim: { selector: string; key: string } | undefined;
  /** PUBLIC_URL: the API's address as people reach it, for links in messages (unsubscribe, downloads) and the privacy centre's Origin check. */
  publicUrl: string;
  /** PRIVACY_CONTACT: the privacy team's address (the policy's privacy@harakaflow.io): the page, the messages, the OpenAPI document. */
  privacyContact: string;
  /** PRIVACY_WHATSAPP_NUMBER: the WhatsApp number people send their code to, proving their number (issue 32 item 3); undefined: none. */
  privacyWhatsappNumber: string | undefined;
  /** PRIVACY_IMAP_URL: the privacy mailbox read over IMAP (credentials in it: never logged); undefined: none read. */
  privacyImapUrl: string | undefined;
  /** PRIVACY_IMAP_POLL_SECONDS: between two reads of the privacy mailbox. */
  privacyImapPollSeconds: number;
  /** RETENTION_RIGHTS_REQUESTS_DAYS: a closed rights request (and its messages) is kept this long after its last change. */
  retentionRightsRequestsDays: number;
  /** SUBPROCESSORS_FILE: the operator's processor register (§5, §9), checked at startup; undefined: SUBPROCESSORS. */
  subprocessors: Subprocessor[] | undefined;
  /** SUBPROCESSOR_NOTICE_DAYS: a register change is announced to every account at least this many days before it takes effect (14 to 365). */
  subprocessorNoticeDays: number;
  /** OPENAPI_PUBLIC=1: /docs/json is served in production too (always outside production). */
  openapiPublic: boolean;
  /** §4 retention, days: message logs per plan (free up to 90; pro and business up to 365), server logs (up to 90). */
  retentionMessageLogDays: { free: number; pro: number; business: number };
  retentionServerLogDays: number;
  /** Minutes between retention runs (with jitter); 0: none scheduled (hf-retention run). */
  retentionIntervalMinutes: number;
  /** AUTH_CACHE_MS: how long an API key's resolution is reused (0: none). */
  authCacheMs: number;
  /** Rows a retention batch removes (one short transaction). */
  retentionBatchSize: number;
  /** A pause after each retention batch, ms: the throttle. */
  retentionBatchPauseMs: number;
  /** The privacy policy's versions (tests replace them); default POLICY_VERSIONS. */
  policyVersions?: PolicyVersionInput[] | undefined;
  /** AUDIT_LOG_ORIGIN: the audit log's name, the first line of its signed checkpoints and its signing keys' key name (default `<PUBLIC_URL's host>/audit`). */
  auditLogOrigin: string;
  /** AUDIT_SIGNING_KEYS with the origin (issue 33): the Ed25519 keys of signed checkpoints; null: unset in production, checkpoints HMAC-only (for this release). */
  auditSigningKeys: AuditSigningKeys | null;
  /** The audit writer's sizes and timings, for tests and the soak (no environment variable): smaller batches and bounds make an outage's spill test-sized. */
  auditTuning?:
    | Partial<
        Pick<
          AuditOptions,
          'batchSize' | 'flushIntervalMs' | 'maxBuffered' | 'retryBaseMs' | 'retryMaxMs' | 'spillMaxBytes'
        >
      >
    | undefined;
  secrets: Secrets;
}

/** Secrets of the app and its packages. Each later package adds its own entry to SECRET_SPECS. */
export interface Secrets {
  adminApiKey: string;
  /** HMAC secrets of the consent cookie, comma-separated: the first signs, all verify. */
  consentSecrets: string;
  /** HMAC secrets of the age gate's block cookie, comma-separated. */
  ageGateSecrets: string;
  /** Key-encryption keys of the credential vault: `id:base64-of-32-bytes`, comma-separated, the first active. */
  vaultKeys: string;
  /** HMAC keys of the audit log's segment checkpoints, comma-separated: the first signs, all verify. */
  auditCheckpointKeys: string;
  /** Ed25519 keys of export manifests and erasure receipts: `id:base64-seed`, comma-separated, the first signs. */
  dataRightsSigningKeys: string;
  /** HMAC key of the subject hashes a rights request keeps after an erasure (at least 32 characters). */
  dataRightsSubjectKey: string;
  /** HMAC secrets of one-click unsubscribe links, comma-separated: the first signs, all verify. */
  notifyUnsubscribeSecrets: string;
  /** Ed25519 keys of the audit log's signed checkpoints: `id:base64-seed`, comma-separated, the first signs. Optional in production for one release (issue 33). */
  auditSigningKeys?: string | undefined;
}

export interface SecretSpec {
  /** Environment variable. */
  env: string;
  key: keyof Secrets;
  /** What it is, for the README's configuration table. */
  meaning: string;
  /** A fresh value: kept in DATA_DIR/secrets.json in development, printed by `npx pnpm@10 secrets` for production (key ids say which). */
  generate(purpose?: 'development' | 'production'): string;
  /** Why a value is unacceptable, or undefined. Must not quote the value. */
  check(value: string): string | undefined;
  /**
   * Set for a secret production may run without (for a release, while operators adopt it): unset
   * there, the app starts and warns once with `code` and `warning`, and the secret stays undefined.
   * Outside production it is generated like any other.
   */
  optionalInProduction?: { code: string; warning: string; shown: string };
}

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

/** The id of a generated key: its purpose and the day it was made (`dev-2026-12-06`, `k-2026-12-06`), so a rotation's new key differs by date. */
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
    check: (v) => {
      try {
        new SigningKeys(v);
        return undefined;
      } catch (error) {
        // SigningKeys names the bad entry, never its key material.
        return (error as Error).message.replace(/^.*DATA_RIGHTS_SIGNING_KEYS /, 'is invalid: ');
      }
    },
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
    check: (v) => {
      try {
        parseVaultKeys(v);
        return undefined;
      } catch (error) {
        // parseVaultKeys names the bad entry, never its key material.
        return (error as Error).message.replace(/^.*VAULT_KEYS /, 'is invalid: ');
      }
    },
  },
  {
    env: 'AUDIT_SIGNING_KEYS',
    key: 'auditSigningKeys',
    meaning:
      "Ed25519 keys that sign the audit log's checkpoints as C2SP signed notes (issue 33): `id:base64-of-a-32-byte-seed`, comma-separated, the first signs; every one's public key is served at `/.well-known/harakaflow-audit-keys.txt` (signed-note verifier keys, key name `AUDIT_LOG_ORIGIN`) and `/.well-known/harakaflow-audit-keys.json` (JWK set), and `hf-audit verify --public-key FILE` checks the log with either file (rotation: prepend a new one, keep the old ones listed)",
    generate: (purpose) => generateAuditSigningKey(keyId(purpose)),
    check: (v) => {
      try {
        new AuditSigningKeys(v, 'origin');
        return undefined;
      } catch (error) {
        // AuditSigningKeys names the bad entry, never its key material.
        return (error as Error).message.replace(/^.*AUDIT_SIGNING_KEYS /, 'is invalid: ');
      }
    },
    optionalInProduction: {
      code: 'HF_AUDIT_SIGNING_KEYS_UNSET',
      warning:
        'AUDIT_SIGNING_KEYS is not set: audit checkpoints are HMAC-only (no signed notes, no /.well-known/harakaflow-audit-keys.*, no hf-audit verify --public-key). ' +
        'Set it (npx pnpm@10 secrets prints one); it will be required in production in the next release',
      shown:
        'generated in development; optional in production for this release (unset: a startup warning, `HF_AUDIT_SIGNING_KEYS_UNSET`, and HMAC-only checkpoints)',
    },
  },
];

export class ConfigError extends Error {
  readonly code = 'HF_CONFIG_INVALID';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type Env = Record<string, string | undefined>;

/** A URL's host (with its port when not the default), or undefined when it is not a URL. */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}

/** AUDIT_SIGNING_KEYS' keys under the log's origin; null when unset (or when either is invalid: that is reported as a problem already). */
export function auditSigningKeys(value: string | undefined, origin: string): AuditSigningKeys | null {
  if (value === undefined) return null;
  try {
    return new AuditSigningKeys(value, origin);
  } catch {
    return null;
  }
}

/** An `imap://` URL (no TLS) to a host that is not loopback: refused in production (the mailbox password would cross the network in clear). */
export function plainImapOffLoopback(url: string): boolean {
  if (!/^imap:\/\//i.test(url)) return false;
  try {
    return !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i.test(new URL(url).hostname);
  } catch {
    return false; // its reader said why already
  }
}

export type ParsedConfig = Omit<AppConfig, 'secrets'> & { secretValues: Partial<Record<string, string>> };

/** Parses everything but the secrets. Pure: no I/O. Throws a ConfigError listing every problem. */
export function parseConfig(env: Env): ParsedConfig {
  const { config, problems } = readConfig(env);
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/**
 * The configuration and every problem found in it, without throwing: loadConfig adds the problems
 * only it can see (missing production secrets, unreadable TLS files) and reports all of them in one
 * message, not in rounds.
 */
export function readConfig(env: Env): { config: ParsedConfig; problems: string[] } {
  const problems: string[] = [];
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === '' ? undefined : v;
  };
  // Every variable of the table, in its order: each read once, its problems named after it.
  const read: Record<string, unknown> = {};
  const fields: Record<string, unknown> = {};
  for (const variable of ENV_VARIABLES) {
    const v = variable.read(value(variable.name), (why) => problems.push(`${variable.name} ${why}`));
    read[variable.name] = v;
    if (variable.key) fields[variable.key] = v;
  }
  const given = (name: string) => read[name] as string | undefined;

  // What several variables make together.
  const nodeEnv = fields.env as Environment;
  if (
    given('MIGRATION_DATABASE_URL') !== undefined &&
    given('DATABASE_URL') === undefined &&
    isUrl(given('MIGRATION_DATABASE_URL')!, ['postgres:', 'postgresql:'])
  ) {
    problems.push('MIGRATION_DATABASE_URL needs DATABASE_URL (the embedded PGlite has one role)');
  }
  if (fields.databasePooler !== 'none' && given('DATABASE_URL') === undefined)
    problems.push('DATABASE_POOLER needs DATABASE_URL (the embedded PGlite has no pooler in front of it)');
  const auditIpHashKey = given('AUDIT_IP_HASH_KEY');
  if (
    (fields.auditIpMode === 'keyed-hash' && auditIpHashKey === undefined) ||
    (auditIpHashKey !== undefined && auditIpHashKey.length < 32)
  ) {
    problems.push('AUDIT_IP_HASH_KEY must be a secret of at least 32 characters when AUDIT_IP_MODE=keyed-hash');
  }
  problems.push(...redisProblems(fields as unknown as AppConfig));
  const certFile = given('TLS_CERT_FILE');
  const keyFile = given('TLS_KEY_FILE');
  if (fields.metricsPort !== undefined && fields.metricsPort !== 0 && fields.metricsPort === fields.port)
    problems.push("METRICS_PORT must differ from PORT (metrics have a listener of their own, never the API's)");
  if ((certFile === undefined) !== (keyFile === undefined))
    problems.push(
      'TLS_CERT_FILE and TLS_KEY_FILE must be set together (both, to serve https; neither, behind a TLS proxy)',
    );
  const dkimSelector = given('NOTIFY_DKIM_SELECTOR');
  const dkimKey = given('NOTIFY_DKIM_KEY');
  // Issue 31 item 3: production without SMTP_URL wrote every message to files nobody reads; it now
  // says so at startup unless NOTIFY_TRANSPORT=eml states the files are intended.
  const transport = given('NOTIFY_TRANSPORT');
  const smtpUrl = given('SMTP_URL');
  if (transport === 'smtp' && smtpUrl === undefined)
    problems.push('NOTIFY_TRANSPORT=smtp needs SMTP_URL (smtps://user:password@host:465)');
  else if (transport === 'eml' && smtpUrl !== undefined)
    problems.push(
      'NOTIFY_TRANSPORT=eml and SMTP_URL are both set: unset SMTP_URL to write .eml files, or NOTIFY_TRANSPORT to send through it',
    );
  else if (nodeEnv === 'production' && smtpUrl === undefined && transport === undefined) {
    problems.push(
      'SMTP_URL is required when NODE_ENV=production (smtps://user:password@host:465: account, request and policy notices are emailed); ' +
        'set NOTIFY_TRANSPORT=eml instead if the .eml files written under DATA_DIR/outbox are what you want',
    );
  }
  // The mailboxes' passwords and mail cross the network: TLS (imaps://) in production, but to a loopback host.
  for (const name of ['PRIVACY_IMAP_URL', 'NOTIFY_BOUNCE_IMAP_URL']) {
    const url = given(name);
    if (nodeEnv === 'production' && url !== undefined && plainImapOffLoopback(url)) {
      problems.push(
        `${name} must be imaps:// in production (the mailbox password and the mail cross the network); imap:// is accepted only to a loopback host`,
      );
    }
  }
  if ((dkimSelector === undefined) !== (dkimKey === undefined))
    problems.push(
      'NOTIFY_DKIM_SELECTOR and NOTIFY_DKIM_KEY must be set together (both to sign with DKIM, neither not to)',
    );
  else if (dkimSelector !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(dkimSelector))
    problems.push(`NOTIFY_DKIM_SELECTOR must be a DNS label (got ${JSON.stringify(dkimSelector)})`);
  // Default: the address the server listens on (an unspecified address as localhost), over https
  // when it serves TLS itself. The privacy centre checks each state-changing request's Origin against it.
  const host = fields.host as string;
  const listenHost =
    host === '0.0.0.0' || host === '::' || !/^[A-Za-z0-9.:-]+$/.test(host)
      ? 'localhost'
      : host.includes(':')
        ? `[${host}]`
        : host;
  const publicUrl = given('PUBLIC_URL') ?? `${certFile ? 'https' : 'http'}://${listenHost}:${fields.port as number}`;
  if (nodeEnv === 'production' && given('PUBLIC_URL') === undefined)
    problems.push(
      'PUBLIC_URL is required when NODE_ENV=production (the https:// address people reach the API at: links in messages)',
    );
  else if (!isUrl(publicUrl, ['http:', 'https:']))
    problems.push(
      `PUBLIC_URL must be an http(s) URL, the API's address as people reach it (got ${JSON.stringify(publicUrl)})`,
    );
  else if (nodeEnv === 'production' && !publicUrl.startsWith('https:'))
    problems.push('PUBLIC_URL must be https:// in production (links in messages, RFC 8058 one-click unsubscribe)');

  // The audit log's origin (issue 33): its signed checkpoints' first line and its keys' name. The
  // default follows PUBLIC_URL's host, so a changed PUBLIC_URL changes it: production sets it.
  const givenOrigin = given('AUDIT_LOG_ORIGIN');
  const auditLogOrigin = givenOrigin ?? `${hostOf(publicUrl) ?? 'localhost'}/audit`;
  if (!isKeyName(auditLogOrigin))
    problems.push(
      `AUDIT_LOG_ORIGIN must be a signed-note key name such as api.example.com/audit: no spaces, no "+" (got ${JSON.stringify(auditLogOrigin)})`,
    );

  const secretValues: Partial<Record<string, string>> = {};
  for (const spec of SECRET_SPECS) {
    const v = value(spec.env);
    if (v === undefined) continue;
    const why = spec.check(v);
    if (why) problems.push(`${spec.env} ${why}`);
    else secretValues[spec.env] = v;
  }

  const config = {
    ...fields,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    auditSpillDir: given('AUDIT_SPILL_DIR') ?? join(fields.dataDir as string, 'audit-spill'),
    notifyDkim:
      dkimSelector !== undefined && dkimKey !== undefined ? { selector: dkimSelector, key: dkimKey } : undefined,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    auditLogOrigin,
    auditSigningKeys: auditSigningKeys(secretValues.AUDIT_SIGNING_KEYS, auditLogOrigin),
    retentionMessageLogDays: {
      free: read.RETENTION_MESSAGE_LOG_DAYS as number,
      pro: read.RETENTION_MESSAGE_LOG_DAYS_PRO as number,
      business: read.RETENTION_MESSAGE_LOG_DAYS_BUSINESS as number,
    },
    secretValues,
  } as ParsedConfig;
  return { config, problems };
}
