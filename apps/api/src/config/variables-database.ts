/** The variable table's storage entries: Postgres (URL, migration role, pooler) and the quota store's Redis. */
import { oneOf, optional, quote, url, variable } from './readers.js';
import { splitSecrets } from './secret-specs.js';
import type { EnvVariable, Reader } from './types.js';
import type { HostPort } from '../wiring/redis.js';

/** `host:port,...` (an IPv6 host in brackets), or unset: Redis sentinels or cluster nodes. */
const hostPorts: Reader<HostPort[] | undefined> = (t, problem) => {
  if (t === undefined) return undefined;
  const entries = splitSecrets(t);
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

export const DATABASE_VARIABLES: readonly EnvVariable[] = [
  variable({
    name: 'DATABASE_URL',
    key: 'databaseUrl',
    shown: 'unset: PGlite',
    meaning: '`postgres://` URL: run on real Postgres (postgres.js pool)',
    read: url(POSTGRES, 'must be a postgres:// or postgresql:// URL'),
  }),
  variable({
    name: 'MIGRATION_DATABASE_URL',
    key: 'migrationDatabaseUrl',
    shown: 'unset',
    meaning:
      '`postgres://` URL of the role that owns the tables: migrations run through it, and `DATABASE_URL` may then be a least-privilege role (see "Least-privilege database role"), or a pooler (point this one straight at Postgres, see "PgBouncer and other poolers"); needs `DATABASE_URL`',
    read: url(POSTGRES, 'must be a postgres:// or postgresql:// URL'),
  }),
  variable({
    name: 'DATABASE_POOLER',
    key: 'databasePooler',
    shown: '`none`',
    meaning:
      'what `DATABASE_URL` points at: `none` (Postgres itself) or `session` (a pooler in session mode) change nothing; `transaction` (PgBouncer `pool_mode = transaction`, Supavisor\'s transaction mode, RDS Proxy) turns off named prepared statements, which break when one client\'s transactions run on different server connections (without it, through PgBouncer, a transaction can be reported committed and rolled back); applies to `MIGRATION_DATABASE_URL` too; needs `DATABASE_URL`; see "PgBouncer and other poolers"',
    read: databasePooler,
  }),
  variable({
    name: 'REDIS_URL',
    key: 'redisUrl',
    shown: 'unset',
    meaning:
      '`redis://` or `rediss://` (TLS) URL, `redis[s]://[user:password@]host:port[/db]`: quota counters and bans in Redis, shared by every replica (unset, with no `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES`: in Postgres when `DATABASE_URL` is set, else in memory). With `REDIS_SENTINELS` or `REDIS_CLUSTER_NODES` it is optional and gives their credentials, database and TLS (see "Managed Redis")',
    read: url(['redis:', 'rediss:'], 'must be a redis:// or rediss:// URL'),
  }),
  variable({
    name: 'REDIS_TLS_CA_FILE',
    key: 'redisTlsCaFile',
    shown: 'unset: the system CAs',
    meaning:
      "PEM file of a private CA that signed the Redis server's certificate (Memorystore's server CA, your own): trusted besides the system CAs; needs a `rediss://` `REDIS_URL`; checked at startup",
    read: optional,
  }),
  variable({
    name: 'REDIS_SENTINELS',
    key: 'redisSentinels',
    shown: 'unset',
    meaning:
      "`host:port,...` of Redis Sentinels: quotas live on the primary they name `REDIS_SENTINEL_NAME`, followed across failovers. `REDIS_URL`, if set, gives the primary's credentials, database and TLS, and its host must be the sentinel name (`rediss://:password@<name>/0`)",
    read: hostPorts,
  }),
  variable({
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
  }),
  variable({
    name: 'REDIS_CLUSTER_NODES',
    key: 'redisClusterNodes',
    shown: 'unset',
    meaning:
      "`host:port,...` of Redis Cluster nodes (some are enough, or a configuration/discovery endpoint): quotas live in the cluster. Not with `REDIS_SENTINELS`. `REDIS_URL`, if set, gives the nodes' credentials and TLS; its host:port must be one of these and its database 0",
    read: hostPorts,
  }),
];
