/** The variable table's quota entries (§2): limits, bans, the store's keys and timeout, rolling-deploy flags. */
import { count, flag, text, variable } from './readers.js';
import type { EnvVariable } from './types.js';

export const QUOTA_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'QUOTA_ANON_RPM',
    key: 'quotaAnonRpm',
    shown: '`60`',
    meaning: 'anonymous requests per minute per client IP (IPv6 per /64)',
    read: count(60),
  }),
  variable({
    name: 'QUOTA_FREE_RPM',
    key: 'quotaFreeRpm',
    shown: '`60`',
    meaning: 'requests per minute of the free plan (pro 600, business 3000)',
    read: count(60),
  }),
  variable({
    name: 'QUOTA_FREE_MESSAGES_PER_DAY',
    key: 'quotaFreeMessagesPerDay',
    shown: '`100`',
    meaning: 'messages per day of the free plan (pro 10,000, business 100,000)',
    read: count(100),
  }),
  variable({
    name: 'QUOTA_BAN_AFTER',
    key: 'quotaBanAfter',
    shown: '`5`',
    meaning: 'refusals within 10 minutes that ban a client: 1 min, then 15 min, 1 h, 24 h',
    read: count(5),
  }),
  variable({
    name: 'QUOTA_AUTH_FAILURES_PER_MINUTE',
    key: 'quotaAuthFailuresPerMinute',
    shown: '`10`',
    meaning:
      'failed authentications (account keys and `ADMIN_API_KEY` alike) per client IP per minute; past it the client gets 429 before its key is looked up, and those refusals count toward a ban. A banned IP is refused even with a valid key: behind a shared NAT, allow-list the address',
    read: count(10),
  }),
  variable({
    name: 'QUOTA_KEY_PREFIX',
    key: 'quotaKeyPrefix',
    shown: '`hf:quota:`',
    meaning:
      'prefix of every quota key in Redis (or in `quota.rate_limits`): several apps or environments on one Redis',
    read: text('hf:quota:', /^[A-Za-z0-9:_.-]{1,64}$/, () => 'must be 1 to 64 letters, digits, ":", "_", "." or "-"'),
  }),
  variable({
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
  }),
  variable({
    name: 'QUOTA_CLIENT_KEY_ROLLING',
    key: 'quotaClientKeyRolling',
    shown: '`0`',
    meaning:
      "`1` during the rolling deploy that first sets `QUOTA_CLIENT_KEY_SECRET` on replicas that derived their client-key secret from `DATA_RIGHTS_SUBJECT_KEY`: bans are then read and written under both keys, so old and new replicas honour each other's bans (each counts requests under its own key until the old ones are gone). Set it back to `0` once every replica has `QUOTA_CLIENT_KEY_SECRET`. Without `QUOTA_CLIENT_KEY_SECRET` it changes nothing",
    read: flag,
  }),
  variable({
    name: 'QUOTA_LEGACY_CLIENT_KEYS',
    key: 'quotaLegacyClientKeys',
    shown: '`0`',
    meaning:
      "client IPs are stored only as `ipk:` + an HMAC of the IP (its /64 for IPv6), with a key derived from `DATA_RIGHTS_SUBJECT_KEY`, so Redis and `quota.rate_limits` name no IP. `1` during a rolling deploy from a version that stored raw `ip:` keys: bans are then read and written under both forms, so old and new replicas honour each other's bans (each counts its own requests until the old ones are gone). Set it back to `0` once every replica runs this version; raw keys expire by themselves within 7 days",
    read: flag,
  }),
  variable({
    name: 'QUOTA_LEGACY_ACCOUNT_KEYS',
    key: 'quotaLegacyAccountKeys',
    shown: '`0`',
    meaning:
      'accounts are counted and banned under `acct:<id>`, a key space of their own (before issue 19 under the bare id, which an id such as `ip:203.0.113.9` shared with that client). `1` during a rolling deploy from such a version: account bans are read and written under both forms. Set it back to `0` once every replica runs this version; the old keys expire within 7 days',
    read: flag,
  }),
];
