/**
 * The app's environment variables as one declarative table (issue 19 item 4): each entry names its
 * variable, the default and meaning the README's configuration table shows, and how it is read
 * and checked; an entry with a `key` sets that config field by itself. readConfig (config.ts)
 * reads the table, then puts together the few values several variables make (TLS, DKIM, the
 * public URL); the README's table is rendered from it (`configTable`, checked by a test), and the
 * tests' defaults are the table's. A new variable is one entry here.
 */
import { describeImapUrl } from '@harakaflow/notify';
import { isProxyEntry, trustTooWide } from './trust-proxy.js';
import { readFileSync } from 'node:fs';
import { checkRegister } from '../privacy/subprocessors.js';

/** Reads one variable's text (undefined when unset or empty); `problem` records why it is refused (the variable's name is prefixed). */
export type Reader<T> = (text: string | undefined, problem: (why: string) => void) => T;

export interface EnvVariable {
  name: string;
  /** The README's default column. */
  shown: string;
  /** The README's meaning column. */
  meaning: string;
  read: Reader<unknown>;
  /** The config field this variable sets by itself; unset: readConfig combines it with others. */
  key?: string;
}

const quote = JSON.stringify;
const list = (values: readonly string[]) =>
  values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values.at(-1)}` : values[0]!;

/** A whole number of at least 1; `beyond` refuses some of them with its own message. */
export function count(
  fallback: number,
  beyond?: { min?: number; max?: number; says: (n: number) => string },
): Reader<number> {
  return (text, problem) => {
    const v = text ?? String(fallback);
    if (!/^\d{1,9}$/.test(v) || Number(v) < 1) {
      problem(`must be a whole number of at least 1 (got ${quote(v)})`);
      return fallback;
    }
    const n = Number(v);
    if (beyond && (n > (beyond.max ?? Infinity) || n < (beyond.min ?? 1))) problem(beyond.says(n));
    return beyond?.max !== undefined ? Math.min(n, beyond.max) : n;
  };
}

/** A whole number written in `digits` and at most `max`; else `fallback`, and `says` why. */
export function whole(fallback: number, digits: RegExp, max: number, says: (v: string) => string): Reader<number> {
  return (text, problem) => {
    const v = text ?? String(fallback);
    if (digits.test(v) && Number(v) <= max) return Number(v);
    problem(says(v));
    return fallback;
  };
}

/** A whole number from 0 to `max` (0 saying `zero` when it means something). */
export const fromZero = (fallback: number, max: number, unit: string, zero?: string): Reader<number> =>
  whole(
    fallback,
    /^\d{1,6}$/,
    max,
    (v) => `must be a whole number of ${unit} from 0${zero ? ` (${zero})` : ''} to ${max} (got ${quote(v)})`,
  );

/** One of `values`: "must be a, b or c", or with `oneOf` "must be one of a, b, c". */
export function oneOf<T extends string>(
  values: readonly T[],
  fallback: T,
  style: 'list' | 'one of' = 'list',
): Reader<T> {
  return (text, problem) => {
    const v = text ?? fallback;
    if ((values as readonly string[]).includes(v)) return v as T;
    problem(`must be ${style === 'one of' ? `one of ${values.join(', ')}` : list(values)} (got ${quote(v)})`);
    return fallback;
  };
}

/** 1/true or 0/false; unset is false. */
export const flag: Reader<boolean> = (text, problem) => {
  if (text === undefined || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  problem(`must be 1 or 0 (got ${quote(text)})`);
  return false;
};

export function isUrl(text: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

/** A URL of one of `protocols`, or unset. Never quoted: a URL may hold credentials. */
export function url(protocols: readonly string[], says: string): Reader<string | undefined> {
  return (text, problem) => {
    if (text !== undefined && !isUrl(text, protocols)) problem(says);
    return text;
  };
}

/** Text matching `pattern`, else `fallback` (`says` may quote it: not for secrets). */
export function text(fallback: string, pattern: RegExp, says: (v: string) => string): Reader<string> {
  return (t, problem) => {
    const v = t ?? fallback;
    if (!pattern.test(v)) problem(says(v));
    return v;
  };
}

/** A secret of at least `min` characters, or unset; never quoted. */
export function secret(min: number, says: string): Reader<string | undefined> {
  return (t, problem) => {
    if (t !== undefined && t.length < min) problem(says);
    return t;
  };
}

const optional: Reader<string | undefined> = (t) => t;

/** `host:port,...` (an IPv6 host in brackets), or unset: Redis sentinels or cluster nodes. */
const hostPorts: Reader<{ host: string; port: number }[] | undefined> = (t, problem) => {
  if (t === undefined) return undefined;
  const entries = t
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const parsed = entries.map((e) => /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(e));
  const bad = entries.filter((_, i) => !parsed[i] || Number(parsed[i]![3]) < 1 || Number(parsed[i]![3]) > 65535);
  if (bad.length || !entries.length) {
    problem(
      `must be a comma-separated list of host:port (an IPv6 address in brackets); bad: ${quote(bad.length ? bad : t)}`,
    );
    return undefined;
  }
  return parsed.map((m) => ({ host: (m![1] ?? m![2])!, port: Number(m![3]) }));
};

/** §4: "message logs up to 90 days by default, configurable on higher plans"; "server logs up to 90 days". */
const days = (fallback: number, max: number) =>
  count(fallback, { max, says: (n) => `must be at most ${max} days (policy §4; got ${n})` });

/** proxy-addr's names for address ranges; a blanket "trust everyone" is deliberately not accepted. */
const trustProxy: Reader<string[] | false> = (t, problem) => {
  if (t === undefined) return false;
  const entries = t
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = entries.filter((e) => !isProxyEntry(e));
  const tooWide = bad.length ? null : trustTooWide(entries);
  if (bad.length || !entries.length) {
    problem(
      `must be a comma-separated list of proxy addresses or CIDRs (or loopback, linklocal, uniquelocal), never a blanket value; bad: ${quote(bad.length ? bad : t)}`,
    );
  } else if (tooWide) {
    problem(
      `trusts too many addresses together (${tooWide.what}): a set that wide lets any client choose its IP; entries: ${quote(tooWide.entries)}`,
    );
  } else {
    return entries;
  }
  return false;
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const POSTGRES = ['postgres:', 'postgresql:'];
const poolerMode = oneOf(['none', 'session', 'transaction'] as const, 'none');
/** Statement pooling is refused with its reason: the kit's changes are transactions of several statements. */
const databasePooler: Reader<'none' | 'session' | 'transaction'> = (t, problem) => {
  if (t !== 'statement') return poolerMode(t, problem);
  problem(
    'must not be statement: a pooler in statement mode refuses transactions of several statements, which every change of the kit is; use pool_mode = transaction',
  );
  return 'none';
};
const chainVersion = oneOf(['1', '2', '3'], '2');
const serverLogDays = days(90, 90);

export const ENV_VARIABLES: readonly EnvVariable[] = [
  {
    name: 'NODE_ENV',
    key: 'env',
    shown: '`development`',
    meaning: '`production` requires every secret below to be set',
    read: oneOf(['development', 'production', 'test'], 'development'),
  },
  {
    name: 'PORT',
    key: 'port',
    shown: '`3000`',
    meaning: 'listening port (`0` picks a free one)',
    read: whole(3000, /^\d{1,5}$/, 65535, (v) => `must be an integer from 0 to 65535 (got ${quote(v)})`),
  },
  {
    name: 'HOST',
    key: 'host',
    shown: '`127.0.0.1`',
    meaning: 'listening address; `0.0.0.0` to serve other machines',
    read: text('127.0.0.1', /^[A-Za-z0-9.:-]+$/, (v) => `must be an address or host name (got ${quote(v)})`),
  },
  {
    name: 'METRICS_PORT',
    key: 'metricsPort',
    shown: 'unset: not served',
    meaning:
      "serves Prometheus metrics at `GET /metrics` on this port of `HOST`, a listener of its own (never the API's port; `0` picks a free one): see [Metrics](#metrics)",
    read: (t, problem) =>
      t === undefined
        ? undefined
        : whole(0, /^\d{1,5}$/, 65535, (v) => `must be an integer from 0 to 65535 (got ${quote(v)})`)(t, problem),
  },
  {
    name: 'DATA_DIR',
    key: 'dataDir',
    shown: '`.data`',
    meaning: 'PGlite data (`DATA_DIR/pglite`) and generated development secrets (`DATA_DIR/secrets.json`, mode 0600)',
    read: (t) => t ?? '.data',
  },
  {
    name: 'DATABASE_URL',
    key: 'databaseUrl',
    shown: 'unset: PGlite',
    meaning: '`postgres://` URL: run on real Postgres (postgres.js pool)',
    read: url(POSTGRES, 'must be a postgres:// or postgresql:// URL'),
  },
  {
    name: 'MIGRATION_DATABASE_URL',
    key: 'migrationDatabaseUrl',
    shown: 'unset',
    meaning:
      '`postgres://` URL of the role that owns the tables: migrations run through it, and `DATABASE_URL` may then be a least-privilege role (see "Least-privilege database role"), or a pooler (point this one straight at Postgres, see "PgBouncer and other poolers"); needs `DATABASE_URL`',
    read: url(POSTGRES, 'must be a postgres:// or postgresql:// URL'),
  },
  {
    name: 'DATABASE_POOLER',
    key: 'databasePooler',
    shown: '`none`',
    meaning:
      'what `DATABASE_URL` points at: `none` (Postgres itself) or `session` (a pooler in session mode) change nothing; `transaction` (PgBouncer `pool_mode = transaction`, Supavisor\'s transaction mode, RDS Proxy) turns off named prepared statements, which break when one client\'s transactions run on different server connections (without it, through PgBouncer, a transaction can be reported committed and rolled back); applies to `MIGRATION_DATABASE_URL` too; needs `DATABASE_URL`; see "PgBouncer and other poolers"',
    read: databasePooler,
  },
  {
    name: 'REDIS_URL',
    key: 'redisUrl',
    shown: 'unset',
    meaning:
      '`redis://` or `rediss://` (TLS) URL, `redis[s]://[user:password@]host:port[/db]`: quota counters and bans in Redis, shared by every replica (unset, with no `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`: in Postgres when `DATABASE_URL` is set, else in memory). With `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` it is optional and gives their credentials, database and TLS (see "Managed Redis")',
    read: url(['redis:', 'rediss:'], 'must be a redis:// or rediss:// URL'),
  },
  {
    name: 'REDIS_TLS_CA_FILE',
    key: 'redisTlsCaFile',
    shown: 'unset: the system CAs',
    meaning:
      "PEM file of a private CA that signed the Redis server's certificate (Memorystore's server CA, your own): trusted besides the system CAs; needs a `rediss://` `REDIS_URL`; checked at startup",
    read: optional,
  },
  {
    name: 'REDIS_SENTINELS',
    key: 'redisSentinels',
    shown: 'unset',
    meaning:
      "`host:port,...` of Redis Sentinels: quotas live on the primary they name `REDIS_SENTINEL_NAME`, followed across failovers. `REDIS_URL`, if set, gives the primary's credentials, database and TLS, and its host must be the sentinel name (`rediss://:password@<name>/0`)",
    read: hostPorts,
  },
  {
    name: 'REDIS_SENTINEL_NAME',
    key: 'redisSentinelName',
    shown: 'unset',
    meaning:
      'the name the sentinels monitor (`sentinel monitor <name> ...`); required with `REDIS_SENTINELS`, refused without',
    read: (t, problem) => {
      if (t !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(t))
        problem(`must be 1 to 64 letters, digits, ".", "_" or "-" (got ${quote(t)})`);
      return t;
    },
  },
  {
    name: 'REDIS_CLUSTER_NODES',
    key: 'redisClusterNodes',
    shown: 'unset',
    meaning:
      "`host:port,...` of Redis Cluster nodes (some are enough, or a configuration/discovery endpoint): quotas live in the cluster. Not with `REDIS_SENTINELS`. `REDIS_URL`, if set, gives the nodes' credentials and TLS; its host:port must be one of these and its database 0",
    read: hostPorts,
  },
  {
    name: 'TRUST_PROXY',
    key: 'trustProxy',
    shown: 'off',
    meaning:
      'comma-separated proxy addresses or CIDRs (or `loopback`, `linklocal`, `uniquelocal`) whose `X-Forwarded-For` is believed. `true`, `*` and `/0` are refused: a blanket trust lets any client choose its IP; so is a set of explicit entries that together hold more than 2^24 IPv4 addresses (IPv4-mapped IPv6 counted as IPv4) or more than 2^96 IPv6 addresses (a /0 split into halves); the named ranges are always allowed',
    read: trustProxy,
  },
  {
    name: 'TLS_CERT_FILE',
    shown: 'unset',
    meaning:
      'PEM certificate: with `TLS_KEY_FILE`, serve https from the app itself (both or neither; checked at startup). Unset: plain http, for TLS at a proxy in `TRUST_PROXY`',
    read: optional,
  },
  {
    name: 'TLS_KEY_FILE',
    shown: 'unset',
    meaning: "the PEM private key of `TLS_CERT_FILE`'s certificate",
    read: optional,
  },
  {
    name: 'REQUEST_TIMEOUT_MS',
    key: 'requestTimeoutMs',
    shown: '`30000`',
    meaning:
      "a whole request, headers and body, must arrive within this (1000 to 600000), else 408 `HF_REQUEST_TIMEOUT`; headers within min(10 s, this); idle keep-alive connections close after 72 s (longer than common load balancers' 60 s, so the proxy closes first); Node checks every second",
    read: count(30_000, { min: 1000, max: 600_000, says: (n) => `must be from 1000 to 600000 (got ${n})` }),
  },
  {
    name: 'MAX_JSON_DEPTH',
    key: 'maxJsonDepth',
    shown: '`64`',
    meaning:
      'deepest nesting of a JSON body (1 to 1000); deeper is 400 `HF_VALIDATION_FAILED` before anything parses it',
    read: count(64, { max: 1000, says: (n) => `must be from 1 to 1000 (got ${n})` }),
  },
  {
    name: 'LOG_LEVEL',
    key: 'logLevel',
    shown: '`info`',
    meaning: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`',
    read: oneOf(LOG_LEVELS, 'info', 'one of'),
  },
  {
    name: 'AUDIT_IP_MODE',
    key: 'auditIpMode',
    shown: '`full`',
    meaning:
      "how the audit log stores client IPs: `full` (the policy's promise), `truncated` (/24, /64) or `keyed-hash`",
    read: oneOf(['full', 'truncated', 'keyed-hash'], 'full'),
  },
  {
    name: 'AUDIT_IP_HASH_KEY',
    key: 'auditIpHashKey',
    shown: 'unset',
    meaning: 'HMAC key (≥ 32 characters) for `AUDIT_IP_MODE=keyed-hash` (required then)',
    read: optional,
  },
  {
    name: 'AUDIT_SPILL_DIR',
    shown: '`DATA_DIR/audit-spill`',
    meaning:
      'where audit events wait (NDJSON, authenticated, in a 0700 subdirectory `hf-audit-<uid>`) while Postgres is unreachable; replayed when it is back',
    read: optional,
  },
  {
    name: 'AUDIT_CHAIN_VERSION',
    key: 'auditChainVersion',
    shown: '`2`',
    meaning:
      'the audit chain format new events are written in: `2` (path, resource and details are personal fields, erased with the subject), `3` (the lean row of issue 29: bytea hashes, interned user agents, routes and writers, batches by binary COPY; set it once every replica runs a version that reads it) or `1` while replicas of a version before issue 12 still run `verify` during a rolling upgrade (every format is always verified)',
    read: (t, problem) => Number(chainVersion(t, problem)) as 1 | 2 | 3,
  },
  {
    name: 'AUDIT_LOG_ORIGIN',
    shown: "`PUBLIC_URL`'s host, then `/audit`",
    meaning:
      "the audit log's name (issue 33): the first line of its signed checkpoints and the key name of `AUDIT_SIGNING_KEYS` in the served verifier keys; a signed-note key name (no spaces, no `+`), e.g. `api.example.com/audit`. Set it in production and keep it: a changed origin (the default follows `PUBLIC_URL`) gives new key IDs, and earlier checkpoints verify only with the earlier verifier keys",
    read: optional,
  },
  {
    name: 'AUDIT_SPILL_MAX_MB',
    key: 'auditSpillMaxMb',
    shown: '`1024`',
    meaning: 'the most the spill directory holds',
    read: count(1024),
  },
  {
    name: 'AUDIT_SPILL_FULL',
    key: 'auditSpillFull',
    shown: '`drop-access`',
    meaning:
      'when it is full: `drop-access` (access events are counted and dropped, security events kept; once the database is back one chained `audit.gap` event declares the count and time range, and `hf-audit verify` reports a declared gap, not tampering) or `fail-closed` (requests answer 503 `HF_AUDIT_UNAVAILABLE` while it is full)',
    read: oneOf(['drop-access', 'fail-closed'], 'drop-access'),
  },
  {
    name: 'AUDIT_STREAMS_INTERVAL_SECONDS',
    key: 'auditStreamsIntervalSeconds',
    shown: '`5`',
    meaning:
      "seconds between runs of the audit streams' delivery job (issue 33 item 5; every replica runs it, each stream is sent by one at a time); `0`: none (no stream is sent)",
    read: fromZero(5, 3600, 'seconds', 'none'),
  },
  {
    name: 'QUOTA_ANON_RPM',
    key: 'quotaAnonRpm',
    shown: '`60`',
    meaning: 'anonymous requests per minute per client IP (IPv6 per /64)',
    read: count(60),
  },
  {
    name: 'QUOTA_FREE_RPM',
    key: 'quotaFreeRpm',
    shown: '`60`',
    meaning: 'requests per minute of the free plan (pro 600, business 3000)',
    read: count(60),
  },
  {
    name: 'QUOTA_FREE_MESSAGES_PER_DAY',
    key: 'quotaFreeMessagesPerDay',
    shown: '`100`',
    meaning: 'messages per day of the free plan (pro 10,000, business 100,000)',
    read: count(100),
  },
  {
    name: 'QUOTA_BAN_AFTER',
    key: 'quotaBanAfter',
    shown: '`5`',
    meaning: 'refusals within 10 minutes that ban a client: 1 min, then 15 min, 1 h, 24 h',
    read: count(5),
  },
  {
    name: 'QUOTA_AUTH_FAILURES_PER_MINUTE',
    key: 'quotaAuthFailuresPerMinute',
    shown: '`10`',
    meaning:
      'failed authentications (account keys and `ADMIN_API_KEY` alike) per client IP per minute; past it the client gets 429 before its key is looked up, and those refusals count toward a ban. A banned IP is refused even with a valid key: behind a shared NAT, allow-list the address',
    read: count(10),
  },
  {
    name: 'QUOTA_KEY_PREFIX',
    key: 'quotaKeyPrefix',
    shown: '`hf:quota:`',
    meaning:
      'prefix of every quota key in Redis (or in `quota.rate_limits`): several apps or environments on one Redis',
    read: text('hf:quota:', /^[A-Za-z0-9:_.-]{1,64}$/, () => 'must be 1 to 64 letters, digits, ":", "_", "." or "-"'),
  },
  {
    name: 'QUOTA_STORE_TIMEOUT_MS',
    key: 'quotaStoreTimeoutMs',
    shown: '`50` on Redis, `500` on Postgres',
    meaning:
      "how long one call to the quota store may take, ms. Past it, request limits are answered by each replica's insurance limiter (logged `HF_QUOTA_STORE_TIMEOUT`) and the message quota answers 503 `HF_QUOTA_UNAVAILABLE`; raise it for a managed Redis across zones or a loaded host",
    read: (t, problem) =>
      t === undefined
        ? undefined
        : count(50, { max: 60_000, says: (n) => `must be a whole number of ms from 1 to 60000 (got ${n})` })(
            t,
            problem,
          ),
  },
  {
    name: 'QUOTA_LEGACY_CLIENT_KEYS',
    key: 'quotaLegacyClientKeys',
    shown: '`0`',
    meaning:
      "client IPs are stored only as `ipk:` + an HMAC of the IP (its /64 for IPv6), with a key derived from `DATA_RIGHTS_SUBJECT_KEY`, so Redis and `quota.rate_limits` name no IP. `1` during a rolling deploy from a version that stored raw `ip:` keys: bans are then read and written under both forms, so old and new replicas honour each other's bans (each counts its own requests until the old ones are gone). Set it back to `0` once every replica runs this version; raw keys expire by themselves within 7 days",
    read: flag,
  },
  {
    name: 'QUOTA_LEGACY_ACCOUNT_KEYS',
    key: 'quotaLegacyAccountKeys',
    shown: '`0`',
    meaning:
      'accounts are counted and banned under `acct:<id>`, a key space of their own (before issue 19 under the bare id, which an id such as `ip:203.0.113.9` shared with that client). `1` during a rolling deploy from such a version: account bans are read and written under both forms. Set it back to `0` once every replica runs this version; the old keys expire within 7 days',
    read: flag,
  },
  {
    name: 'META_APP_SECRET',
    key: 'metaAppSecret',
    shown: 'unset',
    meaning:
      "the Meta app's secret: verifies `POST /v1/webhooks/inbound/meta` (`X-Hub-Signature-256`); unset, that route answers 503 `HF_WEBHOOK_NOT_CONFIGURED`",
    read: secret(16, 'must be at least 16 characters (the app secret from the Meta app dashboard)'),
  },
  {
    name: 'META_VERIFY_TOKEN',
    key: 'metaVerifyToken',
    shown: 'unset',
    meaning: 'the token Meta sends when it checks the callback URL (`GET /v1/webhooks/inbound/meta`)',
    read: secret(16, 'must be at least 16 characters'),
  },
  {
    name: 'WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS',
    key: 'webhooksAllowPrivateDestinations',
    shown: '`0`',
    meaning:
      '`1` lets webhook endpoints be loopback, private or link-local addresses: development and tests only (SSRF)',
    read: flag,
  },
  {
    name: 'WEBHOOKS_ALLOW_HTTP',
    key: 'webhooksAllowHttp',
    shown: '`0`',
    meaning: '`1` lets webhook endpoints be `http://`: development and tests only',
    read: flag,
  },
  {
    name: 'WEBHOOKS_DISABLE_AFTER_DAYS',
    key: 'webhooksDisableAfterDays',
    shown: '`5`',
    meaning:
      'days of failing every delivery attempt after which a webhook endpoint is disabled (1 to 30; a `410` answer disables it at once): its deliveries are held, not dropped, the account is emailed (`webhook.endpoint_disabled`), and `POST /v1/webhooks/endpoints/:id/enable` sends them',
    read: count(5, { max: 30, says: (n) => `must be at most 30 days (held deliveries are kept 30 days; got ${n})` }),
  },
  {
    name: 'MINOR_ERASURE_DELAY_MS',
    key: 'minorErasureDelayMs',
    shown: '`0`',
    meaning: "delay between a minor's report and the erasure of their data (0: at once)",
    read: whole(0, /^\d{1,10}$/, Infinity, (v) => `must be a whole number of milliseconds (got ${quote(v)})`),
  },
  {
    name: 'CONSENT_DEFAULT_ANALYTICS',
    key: 'consentDefaultAnalytics',
    shown: '`granted`',
    meaning:
      "analytics for a visitor who has not decided: `granted` is the policy's opt-out model (§7); `denied` for opt-in jurisdictions",
    read: oneOf(['granted', 'denied'], 'granted'),
  },
  {
    name: 'DATA_RIGHTS_DUE_DAYS',
    key: 'dataRightsDueDays',
    shown: '`30`',
    meaning: 'days to answer a rights request (1 to 30: §6 promises 30)',
    read: count(30, {
      max: 30,
      says: (n) => `must be at most 30 (policy §6 promises an answer within 30 days; got ${n})`,
    }),
  },
  {
    name: 'DATA_RIGHTS_PURGE_AFTER_DAYS',
    key: 'dataRightsPurgeAfterDays',
    shown: '`7`',
    meaning:
      "days between an account's deletion request and its purge, 0 to 30 (§4: within 30); the account can cancel meanwhile; `0` purges at once",
    read: whole(7, /^\d{1,2}$/, 30, (v) => `must be a whole number of days from 0 to 30 (policy §4; got ${quote(v)})`),
  },
  {
    name: 'DATA_RIGHTS_EXPORT_TTL_HOURS',
    key: 'dataRightsExportTtlHours',
    shown: '`120`',
    meaning: "how long an export's one-time link works (1 to 720)",
    read: count(120, { max: 720, says: (n) => `must be at most 720 (got ${n})` }),
  },
  {
    name: 'SMTP_URL',
    key: 'smtpUrl',
    shown: 'unset',
    meaning:
      '`smtp://user:password@host:587` or `smtps://...:465`: notifications are sent through it (credentials in the URL; never logged or quoted). Unset: each message is written as an `.eml` file under `DATA_DIR/outbox`, and a startup log line names the folder; with `NODE_ENV=production` that needs `NOTIFY_TRANSPORT=eml`',
    read: url(
      ['smtp:', 'smtps:'],
      'must be an smtp:// or smtps:// URL (credentials in it: smtps://user:password@host:465)',
    ),
  },
  {
    name: 'NOTIFY_TRANSPORT',
    shown: '`smtp` with `SMTP_URL`, else `eml`',
    meaning:
      'how notifications leave: `smtp` (through `SMTP_URL`, required then) or `eml` (`.eml` files under `DATA_DIR/outbox`, no mail sent; refused with `SMTP_URL`). With `NODE_ENV=production` and no `SMTP_URL` startup stops unless this is `eml`: nobody would receive the messages the policy promises (§2, §6, §11) unless something else delivers those files',
    // A refused value is unset, so its only problem is its own.
    read: (t, problem) =>
      t === undefined || t === 'smtp' || t === 'eml' ? t : void problem(`must be smtp or eml (got ${quote(t)})`),
  },
  {
    name: 'NOTIFY_FROM',
    key: 'notifyFrom',
    shown: '`HarakaFlow <no-reply@harakaflow.com>`',
    meaning: 'the From address; its domain ends every `Message-ID` and is the DKIM domain',
    read: text(
      'HarakaFlow <no-reply@harakaflow.com>',
      /^[^<>@\r\n]*<[^<>@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}>$|^[^<>@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/,
      (v) => `must be an address, e.g. "HarakaFlow <no-reply@harakaflow.com>" (got ${quote(v)})`,
    ),
  },
  {
    name: 'NOTIFY_DKIM_SELECTOR',
    shown: 'unset',
    meaning: 'DKIM signing, with `NOTIFY_DKIM_KEY` (both or neither): the selector',
    read: optional,
  },
  {
    name: 'NOTIFY_DKIM_KEY',
    shown: 'unset',
    meaning: 'the DKIM private key: PEM (newlines as `\\n` allowed) or the path of a file holding one',
    read: optional,
  },
  {
    name: 'NOTIFY_BOUNCE_IMAP_URL',
    key: 'notifyBounceImapUrl',
    shown: 'unset: no bounce mailbox read',
    meaning:
      "the bounce mailbox, read over IMAP by one replica at a time: `imaps://user:password@host/INBOX` (credentials in the URL, percent-encoded; never logged or quoted). It must receive what comes back to `NOTIFY_FROM`'s address (the envelope sender) and the feedback loops' reports: a DSN (RFC 3464) or an abuse report (ARF) about a message sent here marks the address `bouncing` (5.x.x) or `complained`, records how the message went, and shows a §11 notice or a request's answer that did not arrive on the account's `GET /v1/me` (`notices`) and in the privacy centre. `imap://` (no TLS) only outside production or to a loopback host",
    read: url(['imap:', 'imaps:'], 'must be an imaps:// (or imap://) URL: imaps://user:password@host/INBOX'),
  },
  {
    name: 'PUBLIC_URL',
    shown: '`http://$HOST:$PORT` (`https` with `TLS_CERT_FILE`); required (https) in production',
    meaning:
      "the API's address as people reach it: the links in messages (one-click unsubscribe, export downloads), and the one Origin the privacy centre accepts state-changing requests from",
    read: optional,
  },
  {
    name: 'PRIVACY_CONTACT',
    key: 'privacyContact',
    shown: '`privacy@harakaflow.io`',
    meaning:
      "the privacy team's address, the policy's (§6, §8, §12): shown on the privacy centre page, at the end of every message that signs off, and as the OpenAPI document's contact",
    read: text(
      'privacy@harakaflow.io',
      /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/,
      (v) => `must be an email address such as privacy@harakaflow.io (got ${quote(v)})`,
    ),
  },
  {
    name: 'PRIVACY_WHATSAPP_NUMBER',
    key: 'privacyWhatsappNumber',
    shown: 'unset: no number can be proved',
    meaning:
      "the service's WhatsApp number (E.164, e.g. `+254700000000`) that people send a code to from their own number, proving it is theirs before their request is passed to the businesses that hold it (issue 32 item 3; the code arrives through `POST /v1/webhooks/inbound/meta`, so META_APP_SECRET is needed too). Unset: `POST /v1/privacy/public-requests/:id/phone-code` answers 503 `HF_PRIVACY_WHATSAPP_NOT_CONFIGURED`",
    read: (t, problem) => {
      if (t !== undefined && !/^\+[1-9][0-9]{6,14}$/.test(t))
        problem(`must be an E.164 number: + and 7 to 15 digits (got ${quote(t)})`);
      return t;
    },
  },
  {
    name: 'PRIVACY_IMAP_URL',
    key: 'privacyImapUrl',
    shown: 'unset: no mailbox read',
    meaning:
      'the privacy mailbox, read over IMAP: `imaps://user:password@host/INBOX` (credentials in the URL, percent-encoded; never logged or quoted: messages name `user@host:port/mailbox`). Each new message opens a rights request (its kind read from its text, else `unclassified`), the clock running from its receipt; the sender is told, with the code that confirms it, unless a machine sent it or the sender had 3 answers that day; a reply joins its request. One replica reads at a time (a lease in `notify.mailboxes`). `imap://` (no TLS) only outside production or to a loopback host',
    read: (t, problem) => {
      if (t === undefined) return undefined;
      try {
        describeImapUrl(t, 'PRIVACY_IMAP_URL');
      } catch (error) {
        // describeImapUrl's messages name the variable and never a part of the URL.
        problem((error as Error).message.replace(/^PRIVACY_IMAP_URL /, ''));
      }
      return t;
    },
  },
  {
    name: 'PRIVACY_IMAP_POLL_SECONDS',
    key: 'privacyImapPollSeconds',
    shown: '`60`',
    meaning:
      'seconds between two reads of the privacy mailbox (5 to 3600); a read that finds more than 100 new messages goes on at once',
    read: count(60, { min: 5, max: 3600, says: (n) => `must be from 5 to 3600 seconds (got ${n})` }),
  },
  {
    name: 'SUBPROCESSORS_FILE',
    key: 'subprocessors',
    shown: 'unset: the register in `apps/api/src/privacy/subprocessors.ts`',
    meaning:
      'the processor register (§5, §9) as a JSON file: an array of providers, each `{ id, name, purpose, dataCategories, location, transfer: { mechanism: none | adequacy | scc | dpf, sccModule?, note? }, contractUrl, since, until? }` (days as YYYY-MM-DD). Served at `/privacy/subprocessors` and `GET /v1/privacy/subprocessors`, stated in every export; a provider that starts (`since`) or stops (`until`) on a later day is announced to every account by email. Checked at startup: every problem is named',
    read: (t, problem) => {
      if (t === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(t, 'utf8'));
      } catch (error) {
        const code = (error as { code?: string }).code;
        return void problem(code ? `cannot be read (${code}): ${quote(t)}` : `is not JSON: ${quote(t)}`);
      }
      const { register, problems } = checkRegister(parsed);
      for (const why of problems.slice(0, 20)) problem(`${quote(t)}: ${why}`);
      return problems.length ? undefined : register;
    },
  },
  {
    name: 'SUBPROCESSOR_NOTICE_DAYS',
    key: 'subprocessorNoticeDays',
    shown: '`30`',
    meaning:
      "days before a change of the processor register takes effect that every account is told (14 to 365; §11's 14 days at least): a change that can no longer be announced that early, and was not, stops the startup naming it",
    read: count(30, { min: 14, max: 365, says: (n) => `must be from 14 to 365 days (got ${n})` }),
  },
  {
    name: 'OPENAPI_PUBLIC',
    key: 'openapiPublic',
    shown: '`0`',
    meaning:
      '`1` serves the API reference (`/docs`) and the OpenAPI document (`/docs/json`) with `NODE_ENV=production` too; otherwise production answers 404 there (every route, the admin ones included, is listed in it). Outside production it is always served',
    read: flag,
  },
  {
    name: 'RETENTION_MESSAGE_LOG_DAYS',
    shown: '`90`',
    meaning:
      "days the free plan's message log is kept (1 to 90, §4): a row goes at the first run after it is that many days old (a cutoff of now − N days, not a UTC midnight)",
    read: days(90, 90),
  },
  {
    name: 'RETENTION_MESSAGE_LOG_DAYS_PRO',
    shown: '`180`',
    meaning: 'the same for the pro plan (1 to 365: "configurable on higher plans")',
    read: days(180, 365),
  },
  {
    name: 'RETENTION_MESSAGE_LOG_DAYS_BUSINESS',
    shown: '`365`',
    meaning: 'the same for the business plan (1 to 365)',
    read: days(365, 365),
  },
  {
    name: 'RETENTION_RIGHTS_REQUESTS_DAYS',
    key: 'retentionRightsRequestsDays',
    shown: '`1095`',
    meaning:
      'days a closed rights request (fulfilled, denied, canceled or expired) is kept after its last change, with the messages it came in by (sealed in the vault), as the proof that it was answered (30 to 3650, §4 and §6; retention class `rights_requests`); a restriction in force, an erasure a legal hold keeps, or an account on hold keeps its requests longer',
    read: count(1095, { min: 30, max: 3650, says: (n) => `must be from 30 to 3650 days (got ${n})` }),
  },
  {
    name: 'RETENTION_SERVER_LOG_DAYS',
    key: 'retentionServerLogDays',
    shown: '`90`',
    meaning:
      'days the audit log is kept (7 to 90, §4): today and the N − 1 whole UTC days before it stay, so no event is older than N days; older day partitions are dropped whole; the last week never is',
    read: (t, problem) => {
      const n = serverLogDays(t, problem);
      if (n < 7) problem(`must be at least 7 (the last week of the audit log is never purged; got ${n})`);
      return n;
    },
  },
  {
    name: 'RETENTION_INTERVAL_MINUTES',
    key: 'retentionIntervalMinutes',
    shown: '`60`',
    meaning:
      'minutes between retention runs (with jitter; one replica at a time); `0`: none scheduled (`hf-retention run`)',
    read: fromZero(60, 1440, 'minutes', 'none'),
  },
  {
    name: 'AUTH_CACHE_MS',
    key: 'authCacheMs',
    shown: '`1000`',
    meaning:
      "how long an API key's resolution is reused (0 to 60,000 ms; `0`: every request asks the database). The replica that changes an account (a deletion requested, a correction, an admin action, a key revoked with `DELETE /v1/keys/:id`) forgets it at once; other replicas within this time",
    read: fromZero(1000, 60_000, 'milliseconds', 'no cache'),
  },
  {
    name: 'RETENTION_BATCH_SIZE',
    key: 'retentionBatchSize',
    shown: '`5000`',
    meaning: 'rows one retention batch removes, each its own short transaction (1 to 100,000)',
    read: count(5000, { max: 100_000, says: (n) => `must be at most 100000 rows (got ${n})` }),
  },
  {
    name: 'RETENTION_BATCH_PAUSE_MS',
    key: 'retentionBatchPauseMs',
    shown: '`0`',
    meaning:
      'a pause after each batch (0 to 60,000 ms): the throttle that trades purge speed for request latency (figures in packages/retention/README.md)',
    read: fromZero(0, 60_000, 'milliseconds'),
  },
];

/** A secret as the README's table and `.env.example` show it (a SecretSpec's public part). */
export interface SecretRow {
  env: string;
  meaning: string;
  /** Set when production may run without it (its default column says what happens then). */
  optionalInProduction?: { shown: string } | undefined;
}

/** The README's configuration table: every variable of ENV_VARIABLES, then every secret. */
export function configTable(secrets: readonly SecretRow[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = [
    ...ENV_VARIABLES.map((v) => [v.name, v.shown, v.meaning]),
    ...secrets.map((s) => [s.env, s.optionalInProduction?.shown ?? 'generated in development', s.meaning]),
  ];
  return [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...rows.map(([name, shown, meaning]) => `| \`${name}\` | ${cell(shown!)} | ${cell(meaning!)} |`),
  ].join('\n');
}

/** `text` as `# ` comment lines of at most `width` characters (a longer word stays whole). */
export function commentLines(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '#';
  // Markdown links read as their text in a comment.
  for (const word of text
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .split(/\s+/)
    .filter(Boolean)) {
    if (line.length > 1 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  if (line.length > 1) lines.push(line);
  return lines;
}

/**
 * `apps/api/.env.example` (issue 31 item 3): every variable of ENV_VARIABLES, then every secret,
 * each with its meaning and default, commented out (an empty value is unset, so each line may be
 * uncommented and filled in alone). Re-render: `npx pnpm@10 secrets --env-example`; a test checks
 * the committed file is this.
 */
export function envExample(secrets: readonly SecretRow[]): string {
  const out = [
    '# Every environment variable of the HarakaFlow API (apps/api), rendered from ENV_VARIABLES and',
    '# SECRET_SPECS (apps/api/src/config/variables.ts, config/config.ts) by `npx pnpm@10 secrets --env-example`: do not edit',
    '# by hand. Unset or empty means the default. For production: `npx pnpm@10 secrets` prints a',
    '# .env.production with fresh secrets.',
    '',
  ];
  // A default shown as one literal (`3000`) is the example value; anything else is described.
  const literal = (shown: string) => /^`([^`]*)`$/.exec(shown)?.[1];
  for (const v of ENV_VARIABLES) {
    const value = literal(v.shown);
    out.push(
      ...commentLines(`${v.meaning.replace(/`/g, '')}. Default: ${v.shown.replace(/`/g, '')}.`),
      `# ${v.name}=${value ?? ''}`,
      '',
    );
  }
  for (const s of secrets) {
    const when = s.optionalInProduction
      ? `${s.optionalInProduction.shown.replace(/^generated in development/, 'Generated in development (DATA_DIR/secrets.json)')}.`
      : 'Required in production; generated in development (DATA_DIR/secrets.json).';
    out.push(...commentLines(`${s.meaning.replace(/`/g, '')}. ${when.replace(/`/g, '')}`), `# ${s.env}=`, '');
  }
  return out.join('\n');
}
