/** The configuration's types: the app's config, its secrets, and an entry of the variable table. */
import type { AuditOptions, AuditSigningKeys } from '@harakaflow/audit';
import type { PolicyVersionInput } from '@harakaflow/consent';
import type { Subprocessor } from '../privacy/subprocessors.js';
import type { HostPort } from '../wiring/redis.js';

/** NODE_ENV: `production` requires every secret. */
export type Environment = 'development' | 'production' | 'test';

/** The app's configuration, read from the environment (config.ts) or made in code by tests. */
export interface AppConfig {
  env: Environment;
  port: number;
  host: string;
  /**
   * METRICS_PORT: Prometheus text at GET /metrics on a listener of its own (HOST, this port); undefined: not served.
   */
  metricsPort: number | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  /** The role that owns the tables runs the migrations (then DATABASE_URL may be a least-privilege role). */
  migrationDatabaseUrl: string | undefined;
  /**
   * DATABASE_POOLER: what DATABASE_URL points at; `transaction` turns off named prepared statements (PgBouncer
   * pool_mode = transaction).
   */
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
  /**
   * The audit chain format new events are written in (AUDIT_CHAIN_VERSION): 2 (default), 3 once every replica reads it,
   * or 1 during a rolling upgrade.
   */
  auditChainVersion: 1 | 2 | 3;
  /** The most the spill directory may hold, MB (AUDIT_SPILL_MAX_MB). */
  auditSpillMaxMb: number;
  /** What happens when it is full: drop access events (declared as a gap) or refuse requests with 503. */
  auditSpillFull: 'drop-access' | 'fail-closed';
  /** Seconds between runs of the audit streams' delivery job (AUDIT_STREAMS_INTERVAL_SECONDS); 0: none. */
  auditStreamsIntervalSeconds: number;
  /**
   * Meta's app secret: verifies POST /v1/webhooks/inbound/meta (X-Hub-Signature-256). Unset: that route answers 503.
   */
  metaAppSecret: string | undefined;
  /** The token Meta echoes when it checks the callback URL (GET /v1/webhooks/inbound/meta). */
  metaVerifyToken: string | undefined;
  /** Deliver webhooks to loopback/private addresses (development and tests only). */
  webhooksAllowPrivateDestinations: boolean;
  /** Deliver webhooks to http:// URLs (development and tests only). */
  webhooksAllowHttp: boolean;
  /**
   * WEBHOOKS_DISABLE_AFTER_DAYS: days of failing every attempt after which an endpoint is disabled (its deliveries
   * held).
   */
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
  /**
   * QUOTA_STORE_TIMEOUT_MS: the most one quota store call may take, ms; undefined: the quota's default for its store.
   */
  quotaStoreTimeoutMs: number | undefined;
  /**
   * QUOTA_LEGACY_CLIENT_KEYS=1: bans also under raw `ip:` keys, for a rolling deploy from a version that stored them.
   */
  /**
   * Bans also read and written under the key derived from DATA_RIGHTS_SUBJECT_KEY, while a deploy that sets
   * QUOTA_CLIENT_KEY_SECRET rolls.
   */
  quotaClientKeyRolling: boolean;
  quotaLegacyClientKeys: boolean;
  /**
   * QUOTA_LEGACY_ACCOUNT_KEYS=1: account bans also under the bare account id, for a rolling deploy from a version
   * before `acct:` keys.
   */
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
  /**
   * SMTP_URL: `smtp://` or `smtps://` with the credentials in it (never logged). Unset: `.eml` files under
   * DATA_DIR/outbox.
   */
  smtpUrl: string | undefined;
  /**
   * NOTIFY_BOUNCE_IMAP_URL: the bounce mailbox read over IMAP (credentials in it: never logged); undefined: none read.
   */
  notifyBounceImapUrl: string | undefined;
  /** NOTIFY_FROM: the From address of every message; its domain ends each Message-ID and signs DKIM. */
  notifyFrom: string;
  /** NOTIFY_DKIM_SELECTOR and NOTIFY_DKIM_KEY (a PEM private key, or a path to one): DKIM signing, both or neither. */
  notifyDkim: { selector: string; key: string } | undefined;
  /**
   * PUBLIC_URL: the API's address as people reach it, for links in messages (unsubscribe, downloads) and the privacy
   * centre's Origin check.
   */
  publicUrl: string;
  /**
   * PRIVACY_CONTACT: the privacy team's address (the policy's privacy@harakaflow.io): the page, the messages, the
   * OpenAPI document.
   */
  privacyContact: string;
  /**
   * PRIVACY_WHATSAPP_NUMBER: the WhatsApp number people send their code to, proving their number (issue 32 item 3);
   * undefined: none.
   */
  privacyWhatsappNumber: string | undefined;
  /** PRIVACY_IMAP_URL: the privacy mailbox read over IMAP (credentials in it: never logged); undefined: none read. */
  privacyImapUrl: string | undefined;
  /** PRIVACY_IMAP_POLL_SECONDS: between two reads of the privacy mailbox. */
  privacyImapPollSeconds: number;
  /**
   * RETENTION_RIGHTS_REQUESTS_DAYS: a closed rights request (and its messages) is kept this long after its last change.
   */
  retentionRightsRequestsDays: number;
  /** SUBPROCESSORS_FILE: the operator's processor register (§5, §9), checked at startup; undefined: SUBPROCESSORS. */
  subprocessors: Subprocessor[] | undefined;
  /**
   * SUBPROCESSOR_NOTICE_DAYS: a register change is announced to every account at least this many days before it takes
   * effect (14 to 365).
   */
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
  /**
   * AUDIT_LOG_ORIGIN: the audit log's name, the first line of its signed checkpoints and its signing keys' key name
   * (default `<PUBLIC_URL's host>/audit`).
   */
  auditLogOrigin: string;
  /**
   * AUDIT_SIGNING_KEYS with the origin (issue 33): the Ed25519 keys of signed checkpoints; null: unset in production,
   * checkpoints HMAC-only (for this release).
   */
  auditSigningKeys: AuditSigningKeys | null;
  /**
   * The audit writer's sizes and timings, for tests and the soak (no environment variable): smaller batches and bounds
   * make an outage's spill test-sized.
   */
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
  /**
   * Ed25519 keys of the audit log's signed checkpoints: `id:base64-seed`, comma-separated, the first signs. Optional in
   * production for one release (issue 33).
   */
  auditSigningKeys?: string | undefined;
  /**
   * HMAC secrets of quota's client keys, comma-separated: the first keys what is written, every one
   * is read for bans (rotation). Optional in production: unset, derived from `dataRightsSubjectKey`.
   */
  quotaClientKeySecret?: string | undefined;
}

export interface SecretSpec {
  /** Environment variable. */
  env: string;
  key: keyof Secrets;
  /** What it is, for the README's configuration table. */
  meaning: string;
  /**
   * A fresh value: kept in DATA_DIR/secrets.json in development, printed by `npx pnpm@10 secrets` for production (key
   * ids say which).
   */
  generate(purpose?: 'development' | 'production'): string;
  /** Why a value is unacceptable, or undefined. Must not quote the value. */
  check(value: string): string | undefined;
  /**
   * Set for a secret production may run without (for a release, while operators adopt it): unset
   * there, the app starts (and warns once with `code` and `warning`, when given), and the secret stays undefined.
   * Outside production it is generated like any other.
   */
  optionalInProduction?: { code?: string; warning?: string; shown: string };
}

export type Env = Record<string, string | undefined>;

/** What readConfig reads from the environment: the config without its secrets, and the secrets' values by variable. */
export type ParsedConfig = Omit<AppConfig, 'secrets'> & { secretValues: Partial<Record<string, string>> };

/**
 * Reads one variable's text (undefined when unset or empty); `problem` records why it is refused (the variable's name
 * is prefixed).
 */
export type Reader<T> = (text: string | undefined, problem: (why: string) => void) => T;

/** What the README's configuration table shows of a variable. */
export interface VariableText {
  name: string;
  /** The README's default column. */
  shown: string;
  /** The README's meaning column. */
  meaning: string;
}

/**
 * One entry of the variable table (ENV_VARIABLES); an entry with a key is made by `variable()`, which types its reader.
 */
export interface EnvVariable extends VariableText {
  read: Reader<unknown>;
  /** The config field this variable sets by itself; unset: readConfig combines it with others. */
  key?: keyof AppConfig;
}
