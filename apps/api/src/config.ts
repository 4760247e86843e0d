import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseVaultKeys } from '@harakaflow/credential-vault';
import type { PolicyVersionInput } from '@harakaflow/consent';
import { generateSigningKey, SigningKeys } from '@harakaflow/data-rights';

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
  dataDir: string;
  databaseUrl: string | undefined;
  /** The role that owns the tables runs the migrations (then DATABASE_URL may be a least-privilege role). */
  migrationDatabaseUrl: string | undefined;
  redisUrl: string | undefined;
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
  /** The audit chain format new events are written in (AUDIT_CHAIN_VERSION): 2, or 1 during a rolling upgrade. */
  auditChainVersion: 1 | 2;
  /** The most the spill directory may hold, MB (AUDIT_SPILL_MAX_MB). */
  auditSpillMaxMb: number;
  /** What happens when it is full: drop access events (declared as a gap) or refuse requests with 503. */
  auditSpillFull: 'drop-access' | 'fail-closed';
  /** Meta's app secret: verifies POST /v1/webhooks/inbound/meta (X-Hub-Signature-256). Unset: that route answers 503. */
  metaAppSecret: string | undefined;
  /** The token Meta echoes when it checks the callback URL (GET /v1/webhooks/inbound/meta). */
  metaVerifyToken: string | undefined;
  /** Deliver webhooks to loopback/private addresses (development and tests only). */
  webhooksAllowPrivateDestinations: boolean;
  /** Deliver webhooks to http:// URLs (development and tests only). */
  webhooksAllowHttp: boolean;
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
  /** NOTIFY_FROM: the From address of every message; its domain ends each Message-ID and signs DKIM. */
  notifyFrom: string;
  /** NOTIFY_DKIM_SELECTOR and NOTIFY_DKIM_KEY (a PEM private key, or a path to one): DKIM signing, both or neither. */
  notifyDkim: { selector: string; key: string } | undefined;
  /** PUBLIC_URL: the API's address as people reach it, for links in messages (unsubscribe, downloads) and the privacy centre's Origin check. */
  publicUrl: string;
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
}

export interface SecretSpec {
  /** Environment variable. */
  env: string;
  key: keyof Secrets;
  /** A fresh value for development. */
  generate(): string;
  /** Why a value is unacceptable, or undefined. Must not quote the value. */
  check(value: string): string | undefined;
}

/** The entries of a comma-separated secret list, trimmed, empty ones dropped: the one splitter (issue 19 item 7). */
export function splitSecrets(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** A comma-separated list of HMAC secrets (rotation: the first signs, all verify). */
function secretList(env: string, key: keyof Secrets): SecretSpec {
  return {
    env,
    key,
    generate: () => randomBytes(32).toString('base64url'),
    check: (v) =>
      v.split(',').some((s) => s.trim().length < 32) // an empty entry is refused here, not dropped
        ? 'must be a comma-separated list of secrets of at least 32 characters each (the first signs)'
        : undefined,
  };
}

export const SECRET_SPECS: readonly SecretSpec[] = [
  {
    env: 'ADMIN_API_KEY',
    key: 'adminApiKey',
    generate: () => `hf_admin_${randomBytes(32).toString('base64url')}`,
    check: (v) => (v.length < 32 ? 'must be at least 32 characters' : undefined),
  },
  secretList('CONSENT_SECRETS', 'consentSecrets'),
  secretList('AGE_GATE_SECRETS', 'ageGateSecrets'),
  secretList('AUDIT_CHECKPOINT_KEYS', 'auditCheckpointKeys'),
  secretList('NOTIFY_UNSUBSCRIBE_SECRETS', 'notifyUnsubscribeSecrets'),
  {
    env: 'DATA_RIGHTS_SIGNING_KEYS',
    key: 'dataRightsSigningKeys',
    generate: () => generateSigningKey(`dev-${new Date().toISOString().slice(0, 10)}`),
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
    generate: () => randomBytes(32).toString('base64url'),
    check: (v) => (v.length < 32 ? 'must be at least 32 characters' : undefined),
  },
  {
    env: 'VAULT_KEYS',
    key: 'vaultKeys',
    generate: () => `dev-${new Date().toISOString().slice(0, 10)}:${randomBytes(32).toString('base64')}`,
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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
// proxy-addr's names for address ranges; a blanket "trust everyone" is deliberately not accepted.
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

export type Env = Record<string, string | undefined>;

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

  const nodeEnv = value('NODE_ENV') ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    problems.push(`NODE_ENV must be development, production or test (got ${JSON.stringify(nodeEnv)})`);
  }

  const portText = value('PORT') ?? '3000';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    problems.push(`PORT must be an integer from 0 to 65535 (got ${JSON.stringify(portText)})`);
  }

  const host = value('HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) problems.push(`HOST must be an address or host name (got ${JSON.stringify(host)})`);

  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl !== undefined && !isUrl(databaseUrl, ['postgres:', 'postgresql:'])) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const migrationDatabaseUrl = value('MIGRATION_DATABASE_URL');
  if (migrationDatabaseUrl !== undefined && !isUrl(migrationDatabaseUrl, ['postgres:', 'postgresql:'])) {
    problems.push('MIGRATION_DATABASE_URL must be a postgres:// or postgresql:// URL');
  } else if (migrationDatabaseUrl !== undefined && databaseUrl === undefined) {
    problems.push('MIGRATION_DATABASE_URL needs DATABASE_URL (the embedded PGlite has one role)');
  }
  const redisUrl = value('REDIS_URL');
  if (redisUrl !== undefined && !isUrl(redisUrl, ['redis:', 'rediss:'])) {
    problems.push('REDIS_URL must be a redis:// or rediss:// URL');
  }

  const logLevel = value('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(logLevel)})`);

  const consentDefault = value('CONSENT_DEFAULT_ANALYTICS') ?? 'granted';
  if (consentDefault !== 'granted' && consentDefault !== 'denied') {
    problems.push(`CONSENT_DEFAULT_ANALYTICS must be granted or denied (got ${JSON.stringify(consentDefault)})`);
  }

  const delayText = value('MINOR_ERASURE_DELAY_MS') ?? '0';
  if (!/^\d{1,10}$/.test(delayText)) problems.push(`MINOR_ERASURE_DELAY_MS must be a whole number of milliseconds (got ${JSON.stringify(delayText)})`);

  const auditIpMode = value('AUDIT_IP_MODE') ?? 'full';
  if (!['full', 'truncated', 'keyed-hash'].includes(auditIpMode)) {
    problems.push(`AUDIT_IP_MODE must be full, truncated or keyed-hash (got ${JSON.stringify(auditIpMode)})`);
  }
  const auditIpHashKey = value('AUDIT_IP_HASH_KEY');
  if ((auditIpMode === 'keyed-hash' && auditIpHashKey === undefined) || (auditIpHashKey !== undefined && auditIpHashKey.length < 32)) {
    problems.push('AUDIT_IP_HASH_KEY must be a secret of at least 32 characters when AUDIT_IP_MODE=keyed-hash');
  }

  const flag = (name: string) => {
    const v = value(name);
    if (v === undefined || v === '0' || v === 'false') return false;
    if (v === '1' || v === 'true') return true;
    problems.push(`${name} must be 1 or 0 (got ${JSON.stringify(v)})`);
    return false;
  };
  const webhooksAllowPrivateDestinations = flag('WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS');
  const webhooksAllowHttp = flag('WEBHOOKS_ALLOW_HTTP');
  const metaAppSecret = value('META_APP_SECRET');
  if (metaAppSecret !== undefined && metaAppSecret.length < 16) problems.push('META_APP_SECRET must be at least 16 characters (the app secret from the Meta app dashboard)');
  const metaVerifyToken = value('META_VERIFY_TOKEN');
  if (metaVerifyToken !== undefined && metaVerifyToken.length < 16) problems.push('META_VERIFY_TOKEN must be at least 16 characters');

  const count = (name: string, fallback: number) => {
    const v = value(name) ?? String(fallback);
    if (!/^\d{1,9}$/.test(v) || Number(v) < 1) {
      problems.push(`${name} must be a whole number of at least 1 (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return Number(v);
  };
  const quotaAnonRpm = count('QUOTA_ANON_RPM', 60);
  const dataRightsDueDays = count('DATA_RIGHTS_DUE_DAYS', 30);
  if (dataRightsDueDays > 30) problems.push(`DATA_RIGHTS_DUE_DAYS must be at most 30 (policy §6 promises an answer within 30 days; got ${dataRightsDueDays})`);
  const purgeText = value('DATA_RIGHTS_PURGE_AFTER_DAYS') ?? '7';
  if (!/^\d{1,2}$/.test(purgeText) || Number(purgeText) > 30) problems.push(`DATA_RIGHTS_PURGE_AFTER_DAYS must be a whole number of days from 0 to 30 (policy §4; got ${JSON.stringify(purgeText)})`);
  const dataRightsExportTtlHours = count('DATA_RIGHTS_EXPORT_TTL_HOURS', 120);
  if (dataRightsExportTtlHours > 720) problems.push(`DATA_RIGHTS_EXPORT_TTL_HOURS must be at most 720 (got ${dataRightsExportTtlHours})`);
  // §4: "message logs up to 90 days by default, configurable on higher plans"; "server logs up to 90 days".
  const days = (name: string, fallback: number, max: number) => {
    const n = count(name, fallback);
    if (n > max) problems.push(`${name} must be at most ${max} days (policy §4; got ${n})`);
    return Math.min(n, max);
  };
  const retentionMessageLogDays = { free: days('RETENTION_MESSAGE_LOG_DAYS', 90, 90), pro: days('RETENTION_MESSAGE_LOG_DAYS_PRO', 180, 365), business: days('RETENTION_MESSAGE_LOG_DAYS_BUSINESS', 365, 365) };
  const retentionServerLogDays = days('RETENTION_SERVER_LOG_DAYS', 90, 90);
  if (retentionServerLogDays < 7) problems.push(`RETENTION_SERVER_LOG_DAYS must be at least 7 (the last week of the audit log is never purged; got ${retentionServerLogDays})`);
  /** A whole number from 0 to `max` (0 saying `zero` when it means something); the fallback when absent or wrong. */
  const fromZero = (name: string, fallback: number, max: number, unit: string, zero?: string) => {
    const text = value(name) ?? String(fallback);
    if (/^\d{1,6}$/.test(text) && Number(text) <= max) return Number(text);
    problems.push(`${name} must be a whole number of ${unit} from 0${zero ? ` (${zero})` : ''} to ${max} (got ${JSON.stringify(text)})`);
    return fallback;
  };
  const retentionIntervalMinutes = fromZero('RETENTION_INTERVAL_MINUTES', 60, 1440, 'minutes', 'none');
  const authCacheMs = fromZero('AUTH_CACHE_MS', 1000, 60_000, 'milliseconds', 'no cache');
  const retentionBatchSize = count('RETENTION_BATCH_SIZE', 5000);
  if (retentionBatchSize > 100_000) problems.push(`RETENTION_BATCH_SIZE must be at most 100000 rows (got ${retentionBatchSize})`);
  const retentionBatchPauseMs = fromZero('RETENTION_BATCH_PAUSE_MS', 0, 60_000, 'milliseconds');
  const quotaFreeMessagesPerDay = count('QUOTA_FREE_MESSAGES_PER_DAY', 100);
  const quotaBanAfter = count('QUOTA_BAN_AFTER', 5);
  const quotaFreeRpm = count('QUOTA_FREE_RPM', 60);
  const quotaAuthFailuresPerMinute = count('QUOTA_AUTH_FAILURES_PER_MINUTE', 10);
  const quotaKeyPrefix = value('QUOTA_KEY_PREFIX') ?? 'hf:quota:';
  const quotaLegacyClientKeys = flag('QUOTA_LEGACY_CLIENT_KEYS');
  const quotaLegacyAccountKeys = flag('QUOTA_LEGACY_ACCOUNT_KEYS');
  if (!/^[A-Za-z0-9:_.-]{1,64}$/.test(quotaKeyPrefix)) problems.push('QUOTA_KEY_PREFIX must be 1 to 64 letters, digits, ":", "_", "." or "-"');
  const auditSpillMaxMb = count('AUDIT_SPILL_MAX_MB', 1024);
  const auditChainVersion = value('AUDIT_CHAIN_VERSION') ?? '2';
  if (auditChainVersion !== '1' && auditChainVersion !== '2') problems.push(`AUDIT_CHAIN_VERSION must be 1 or 2 (got ${JSON.stringify(auditChainVersion)})`);
  const auditSpillFull = value('AUDIT_SPILL_FULL') ?? 'drop-access';
  if (auditSpillFull !== 'drop-access' && auditSpillFull !== 'fail-closed') problems.push(`AUDIT_SPILL_FULL must be drop-access or fail-closed (got ${JSON.stringify(auditSpillFull)})`);
  const requestTimeoutMs = count('REQUEST_TIMEOUT_MS', 30_000);
  if (requestTimeoutMs < 1000 || requestTimeoutMs > 600_000) problems.push(`REQUEST_TIMEOUT_MS must be from 1000 to 600000 (got ${requestTimeoutMs})`);
  const maxJsonDepth = count('MAX_JSON_DEPTH', 64);
  if (maxJsonDepth > 1000) problems.push(`MAX_JSON_DEPTH must be from 1 to 1000 (got ${maxJsonDepth})`);

  let trustProxy: string[] | false = false;
  const trust = value('TRUST_PROXY');
  if (trust !== undefined) {
    const entries = trust.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = entries.filter((e) => !isProxyEntry(e));
    const tooWide = bad.length ? null : trustTooWide(entries);
    if (bad.length || !entries.length) {
      problems.push(
        `TRUST_PROXY must be a comma-separated list of proxy addresses or CIDRs (or loopback, linklocal, uniquelocal), never a blanket value; bad: ${JSON.stringify(bad.length ? bad : trust)}`,
      );
    } else if (tooWide) {
      problems.push(`TRUST_PROXY trusts too many addresses together (${tooWide.what}): a set that wide lets any client choose its IP; entries: ${JSON.stringify(tooWide.entries)}`);
    } else {
      trustProxy = entries;
    }
  }

  const certFile = value('TLS_CERT_FILE');
  const keyFile = value('TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be set together (both, to serve https; neither, behind a TLS proxy)');

  // Notifications (@harakaflow/notify). SMTP_URL holds credentials: checked, never quoted.
  const smtpUrl = value('SMTP_URL');
  if (smtpUrl !== undefined && !isUrl(smtpUrl, ['smtp:', 'smtps:'])) problems.push('SMTP_URL must be an smtp:// or smtps:// URL (credentials in it: smtps://user:password@host:465)');
  const notifyFrom = value('NOTIFY_FROM') ?? 'HarakaFlow <no-reply@harakaflow.com>';
  if (!/^[^<>@\r\n]*<[^<>@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}>$|^[^<>@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(notifyFrom)) problems.push(`NOTIFY_FROM must be an address, e.g. "HarakaFlow <no-reply@harakaflow.com>" (got ${JSON.stringify(notifyFrom)})`);
  const dkimSelector = value('NOTIFY_DKIM_SELECTOR');
  const dkimKey = value('NOTIFY_DKIM_KEY');
  if ((dkimSelector === undefined) !== (dkimKey === undefined)) problems.push('NOTIFY_DKIM_SELECTOR and NOTIFY_DKIM_KEY must be set together (both to sign with DKIM, neither not to)');
  else if (dkimSelector !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(dkimSelector)) problems.push(`NOTIFY_DKIM_SELECTOR must be a DNS label (got ${JSON.stringify(dkimSelector)})`);
  // Default: the address the server listens on (an unspecified address as localhost), over https
  // when it serves TLS itself. The privacy centre checks each state-changing request's Origin against it.
  const listenHost = host === '0.0.0.0' || host === '::' || !/^[A-Za-z0-9.:-]+$/.test(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const publicUrl = value('PUBLIC_URL') ?? `${value('TLS_CERT_FILE') ? 'https' : 'http'}://${listenHost}:${/^\d{1,5}$/.test(portText) && port <= 65535 ? portText : '3000'}`;
  if (nodeEnv === 'production' && value('PUBLIC_URL') === undefined) problems.push('PUBLIC_URL is required when NODE_ENV=production (the https:// address people reach the API at: links in messages)');
  else if (!isUrl(publicUrl, ['http:', 'https:'])) problems.push(`PUBLIC_URL must be an http(s) URL, the API's address as people reach it (got ${JSON.stringify(publicUrl)})`);
  else if (nodeEnv === 'production' && !publicUrl.startsWith('https:')) problems.push('PUBLIC_URL must be https:// in production (links in messages, RFC 8058 one-click unsubscribe)');

  const secretValues: Partial<Record<string, string>> = {};
  for (const spec of SECRET_SPECS) {
    const v = value(spec.env);
    if (v === undefined) continue;
    const why = spec.check(v);
    if (why) problems.push(`${spec.env} ${why}`);
    else secretValues[spec.env] = v;
  }

  const dataDir = value('DATA_DIR') ?? '.data';
  const config: ParsedConfig = {
    env: nodeEnv as Environment,
    port,
    host,
    dataDir,
    databaseUrl,
    migrationDatabaseUrl,
    redisUrl,
    trustProxy,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    logLevel,
    consentDefaultAnalytics: consentDefault as 'granted' | 'denied',
    minorErasureDelayMs: Number(delayText),
    auditIpMode: auditIpMode as AppConfig['auditIpMode'],
    auditIpHashKey,
    auditSpillDir: value('AUDIT_SPILL_DIR') ?? join(dataDir, 'audit-spill'),
    auditSpillMaxMb,
    auditChainVersion: auditChainVersion === '1' ? 1 : 2,
    auditSpillFull: auditSpillFull as AppConfig['auditSpillFull'],
    metaAppSecret,
    metaVerifyToken,
    webhooksAllowPrivateDestinations,
    webhooksAllowHttp,
    quotaAnonRpm,
    quotaFreeMessagesPerDay,
    quotaBanAfter,
    quotaFreeRpm,
    quotaAuthFailuresPerMinute,
    quotaKeyPrefix,
    quotaLegacyClientKeys,
    quotaLegacyAccountKeys,
    requestTimeoutMs,
    maxJsonDepth,
    dataRightsDueDays: Math.min(dataRightsDueDays, 30),
    dataRightsPurgeAfterDays: /^\d{1,2}$/.test(purgeText) ? Math.min(Number(purgeText), 30) : 7,
    dataRightsExportTtlHours: Math.min(dataRightsExportTtlHours, 720),
    smtpUrl,
    notifyFrom,
    notifyDkim: dkimSelector !== undefined && dkimKey !== undefined ? { selector: dkimSelector, key: dkimKey } : undefined,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    retentionMessageLogDays,
    retentionServerLogDays,
    retentionIntervalMinutes,
    retentionBatchSize: Math.min(retentionBatchSize, 100_000),
    authCacheMs,
    retentionBatchPauseMs,
    secretValues,
  };
  return { config, problems };
}

function isUrl(text: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** IPv4 addresses live at ::ffff:0:0/96 in the one 128-bit space used below (proxy-addr maps IPv4 clients there). */
const MAPPED_START = 0xffffn << 32n;
const MAPPED_END = MAPPED_START + (1n << 32n) - 1n;
const MAX_IPV4 = 1n << 24n;
const MAX_IPV6 = 1n << 96n;

/** An address or CIDR as an inclusive range of the 128-bit space (IPv4 as IPv4-mapped IPv6). */
function addressRange(entry: string): [bigint, bigint] {
  const [address, prefix] = entry.split('/') as [string, string | undefined];
  let value: bigint;
  let bits: number;
  if (isIP(address) === 4) {
    value = MAPPED_START + address.split('.').reduce((n, octet) => (n << 8n) + BigInt(Number(octet)), 0n);
    bits = 96 + (prefix === undefined ? 32 : Number(prefix));
  } else {
    value = ipv6Value(address);
    bits = prefix === undefined ? 128 : Number(prefix);
  }
  const size = 1n << BigInt(128 - bits);
  const start = value - (value % size);
  return [start, start + size - 1n];
}

function ipv6Value(address: string): bigint {
  let text = address.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = dotted[1]!.split('.').map(Number);
    text = text.slice(0, -dotted[1]!.length) + `${((n[0]! << 8) | n[1]!).toString(16)}:${((n[2]! << 8) | n[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/**
 * Refuses explicit entries whose union is wider than 2^24 IPv4 or 2^96 IPv6 addresses (issue 12
 * item 10): `0.0.0.0/1,128.0.0.0/1` is a /0 split in two. Overlaps are counted once; an IPv6 range
 * that covers part of ::ffff:0:0/96 counts that part as IPv4. The named ranges stay allowed.
 */
export function trustTooWide(entries: readonly string[]): { what: string; entries: string[] } | null {
  const explicit = entries.filter((e) => !PROXY_NAMES.has(e));
  const ranges = explicit.map((e) => ({ entry: e, range: addressRange(e) })).sort((a, b) => (a.range[0] < b.range[0] ? -1 : a.range[0] > b.range[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const { range } of ranges) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1] + 1n) last[1] = range[1] > last[1] ? range[1] : last[1];
    else merged.push([range[0], range[1]]);
  }
  let v4 = 0n;
  let v6 = 0n;
  for (const [start, end] of merged) {
    const lo = start > MAPPED_START ? start : MAPPED_START;
    const hi = end < MAPPED_END ? end : MAPPED_END;
    const mapped = hi >= lo ? hi - lo + 1n : 0n;
    v4 += mapped;
    v6 += end - start + 1n - mapped;
  }
  const wide = (test: (r: [bigint, bigint]) => boolean) => ranges.filter((r) => test(r.range)).map((r) => r.entry);
  if (v4 > MAX_IPV4) return { what: `${v4} IPv4 addresses, at most 2^24`, entries: wide(([s, e]) => e >= MAPPED_START && s <= MAPPED_END) };
  if (v6 > MAX_IPV6) return { what: `more than 2^96 IPv6 addresses`, entries: wide(([s, e]) => e < MAPPED_START || s > MAPPED_END) };
  return null;
}

function isProxyEntry(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  if (rest.length || !address) return false;
  const family = isIP(address);
  if (!family) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  // A /0 is "everyone": the blanket trust the policy rules out.
  return bits >= 1 && bits <= (family === 4 ? 32 : 128);
}
