/**
 * The quota store's Redis (issue 28 item 4): one server (`REDIS_URL`), a primary found and followed
 * through Sentinel (`REDIS_SENTINELS`, `REDIS_SENTINEL_NAME`) or a Cluster (`REDIS_CLUSTER_NODES`).
 * `REDIS_URL` carries what all three share (username, password, database, and TLS by its `rediss://`
 * scheme); in Sentinel and Cluster modes the list says where the servers are and the URL's host must
 * agree with it, so nothing given is silently ignored. `REDIS_TLS_CA_FILE` adds a private CA to the
 * system's, never replaces them.
 *
 * ioredis is imported only when Redis is configured (about 10 MB of RSS otherwise carried for nothing).
 */
import { errorCodes, withTimeout } from '@harakaflow/core';
import type { FastifyInstance } from 'fastify';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';

export interface HostPort {
  host: string;
  port: number;
}

/** The configuration fields this module reads (AppConfig has them). */
export interface RedisSettings {
  redisUrl: string | undefined;
  redisTlsCaFile: string | undefined;
  redisSentinels: HostPort[] | undefined;
  redisSentinelName: string | undefined;
  redisClusterNodes: HostPort[] | undefined;
}

export type QuotaRedis = Redis | Cluster;

/**
 * The delay before reconnection attempt `times`, ms: 50, 100, 150... capped at 500, so the store is
 * used again within half a second of Redis accepting connections, however long the outage was
 * (ioredis' default grows to 2 s). /health's probe waits up to 1 s for it.
 */
export const reconnectDelay = (times: number): number => Math.min(times * 50, 500);

/** Is Redis configured at all (a URL, sentinels or cluster nodes)? */
export const redisConfigured = (s: RedisSettings): boolean =>
  s.redisUrl !== undefined || s.redisSentinels !== undefined || s.redisClusterNodes !== undefined;

interface UrlParts {
  host: string;
  /** Absent from the URL: undefined. */
  port: number | undefined;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: boolean;
}

/** REDIS_URL's parts, or the reason it cannot be used (never quoting it: it may hold a password). */
function urlParts(url: string): UrlParts | string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be a redis:// or rediss:// URL';
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') return 'must be a redis:// or rediss:// URL';
  if (u.search || u.hash)
    return 'must not carry query options or a fragment (the REDIS_* variables configure the connection)';
  const path = u.pathname.replace(/^\//, '');
  if (!/^\d{0,2}$/.test(path)) return 'path must be a database number (e.g. /0), or nothing';
  const decode = (s: string) => (s === '' ? undefined : decodeURIComponent(s));
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? undefined : Number(u.port),
    username: decode(u.username),
    password: decode(u.password),
    db: path === '' ? 0 : Number(path),
    tls: u.protocol === 'rediss:',
  };
}

/**
 * What is wrong with how the Redis variables combine, each naming its variables (readConfig adds
 * these to its problems). The variables' own formats are checked by their readers.
 */
export function redisProblems(s: RedisSettings): string[] {
  const problems: string[] = [];
  if (s.redisSentinels && s.redisClusterNodes)
    problems.push('REDIS_SENTINELS and REDIS_CLUSTER_NODES cannot be set together (Sentinel or Cluster, not both)');
  if (s.redisSentinels && s.redisSentinelName === undefined)
    problems.push('REDIS_SENTINELS needs REDIS_SENTINEL_NAME (the name the sentinels monitor)');
  if (s.redisSentinelName !== undefined && !s.redisSentinels)
    problems.push('REDIS_SENTINEL_NAME needs REDIS_SENTINELS');
  const parts = s.redisUrl === undefined ? undefined : urlParts(s.redisUrl);
  if (typeof parts === 'string') {
    // An unparseable or wrong-scheme URL is already REDIS_URL's own problem.
    if (!parts.startsWith('must be a redis')) problems.push(`REDIS_URL ${parts}`);
    return problems;
  }
  if (s.redisTlsCaFile !== undefined && !parts?.tls)
    problems.push(
      'REDIS_TLS_CA_FILE needs a rediss:// REDIS_URL (its scheme asks for TLS, in Sentinel and Cluster modes too)',
    );
  if (!parts) return problems;
  if (
    s.redisSentinels &&
    s.redisSentinelName !== undefined &&
    (parts.host !== s.redisSentinelName || parts.port !== undefined)
  ) {
    problems.push(
      "REDIS_URL's host must be REDIS_SENTINEL_NAME, without a port, when REDIS_SENTINELS is set: the sentinels say where the primary is, the URL gives its credentials, database and TLS (e.g. rediss://:password@<name>/0)",
    );
  }
  if (s.redisClusterNodes) {
    if (parts.db !== 0)
      problems.push("REDIS_URL's database must be 0 with REDIS_CLUSTER_NODES (a cluster has only database 0)");
    const port = parts.port ?? 6379;
    if (!s.redisClusterNodes.some((n) => n.host === parts.host && n.port === port)) {
      problems.push(
        "REDIS_URL's host and port must be one of REDIS_CLUSTER_NODES when that is set: the list says where the nodes are, the URL gives their credentials and TLS",
      );
    }
  }
  return problems;
}

/**
 * Is REDIS_TLS_CA_FILE a readable PEM certificate? (loadConfig's check: a path is not a secret, its content is not
 * quoted.)
 */
export function redisCaProblem(file: string): string | null {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    return `REDIS_TLS_CA_FILE cannot be read (${(error as { code?: string }).code ?? 'error'}): ${file}`;
  }
  try {
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not PEM');
    createSecureContext({ ca: pem });
  } catch {
    return "REDIS_TLS_CA_FILE is not a PEM certificate (the CA that signed the Redis server's certificate)";
  }
  return null;
}

export type ClientPlan =
  | { mode: 'standalone' | 'sentinel'; options: RedisOptions }
  | { mode: 'cluster'; nodes: HostPort[]; options: ClusterOptions };

/**
 * The ioredis client to build, as data (the tests read it without a server). `ca`: the PEM of
 * REDIS_TLS_CA_FILE. Undefined when Redis is not configured.
 */
export function clientPlan(s: RedisSettings, ca?: string): ClientPlan | undefined {
  if (!redisConfigured(s)) return undefined;
  const parts = s.redisUrl === undefined ? undefined : urlParts(s.redisUrl);
  if (typeof parts === 'string') throw new TypeError(`REDIS_URL ${parts}`);
  // The system's CAs and the private one: Node's `ca` replaces its default list, so both are given.
  const tls = parts?.tls ? (ca ? { ca: [...rootCertificates, ca] } : {}) : undefined;
  const auth = {
    ...(parts?.username ? { username: parts.username } : {}),
    ...(parts?.password ? { password: parts.password } : {}),
  };
  // Requests never wait for Redis: a command while it is away fails at once (the quota's insurance
  // limiter answers), and a dead address is given up on after 2 s instead of ioredis' 10.
  const common: RedisOptions = {
    ...auth,
    ...(tls ? { tls } : {}),
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
    // A command in flight when the connection dropped was already answered by the insurance limiter
    // (the quota's store timeout); sent again after the reconnection it would count that request
    // twice (found by redis-outage.test.ts: ioredis resends them by default).
    autoResendUnfulfilledCommands: false,
    // A primary demoted under a live connection (a managed service's failover behind one endpoint)
    // answers writes with READONLY: reconnect, which finds the new primary.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  if (s.redisClusterNodes) {
    return {
      mode: 'cluster',
      nodes: s.redisClusterNodes,
      options: {
        enableOfflineQueue: false,
        lazyConnect: true,
        clusterRetryStrategy: reconnectDelay,
        // Nor does the cluster retry a call later on its own (after a closed connection or
        // CLUSTERDOWN, 100 ms later by default): the quota's store timeout has passed by then and the
        // insurance limiter answered; a MOVED redirection still follows at once.
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        // Node addresses as the cluster announces them: with TLS the certificate names the host,
        // not its IP (ioredis' advice for ElastiCache with in-transit encryption).
        dnsLookup: (address, callback) => callback(null, address),
        redisOptions: { ...common, lazyConnect: true },
      },
    };
  }
  if (s.redisSentinels) {
    return {
      mode: 'sentinel',
      options: {
        ...common,
        db: parts?.db ?? 0,
        sentinels: s.redisSentinels,
        name: s.redisSentinelName!,
        // A switch announced by the sentinels moves the connection at once, even from a live old primary.
        failoverDetector: true,
        ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
      },
    };
  }
  return { mode: 'standalone', options: { ...common, host: parts!.host, port: parts!.port ?? 6379, db: parts!.db } };
}

/** Builds the client from the configuration (reading REDIS_TLS_CA_FILE), not yet connected; undefined without Redis. */
export async function createRedis(s: RedisSettings): Promise<QuotaRedis | undefined> {
  const plan = clientPlan(s, s.redisTlsCaFile ? readFileSync(s.redisTlsCaFile, 'utf8') : undefined);
  if (!plan) return undefined;
  const { Redis: RedisClient, Cluster: ClusterClient } = await import('ioredis');
  return plan.mode === 'cluster' ? new ClusterClient(plan.nodes, plan.options) : new RedisClient(plan.options);
}

/**
 * The app's quota Redis: built, connected (startup waits at most 3 s for it: the in-memory insurance
 * limiter answers until it is back, said once in the log with the error's codes), closed with the app.
 */
export async function quotaRedis(app: FastifyInstance, s: RedisSettings): Promise<QuotaRedis | undefined> {
  const redis = await createRedis(s);
  if (!redis) return undefined;
  let last: unknown;
  // Reported by the quota plugin's fallback log and /health, not as an unhandled event.
  redis.on('error', (error) => (last = error));
  app.addHook('onClose', async () => {
    redis.disconnect();
  });
  // Bounded: with every sentinel unreachable ioredis' connect() never settles (it keeps asking them).
  let timer: NodeJS.Timeout | undefined;
  const connected = await Promise.race([
    redis.connect().then(
      () => true,
      () => false,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), STARTUP_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (!connected)
    app.log.warn(
      { err: errorCodes(last) },
      'quota: Redis is not reachable at startup; limits are per instance until it is',
    );
  return redis;
}

/** How long startup waits for Redis before serving without it (more than the 2 s connect timeout). */
const STARTUP_WAIT_MS = 3000;

const readyWaits = new WeakMap<QuotaRedis, Promise<boolean>>();

/** Resolves true when the client is (or becomes) ready within `ms`; one wait shared by concurrent probes. */
function ready(redis: QuotaRedis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  let wait = readyWaits.get(redis);
  if (!wait) {
    wait = new Promise<boolean>((resolve) => {
      const done = (up: boolean) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        readyWaits.delete(redis);
        resolve(up);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      redis.on('ready', onReady);
    });
    readyWaits.set(redis, wait);
  }
  return wait;
}

/**
 * /health's `quota`: does the store answer within `ms`? While the client reconnects the probe waits
 * for it (attempts come every 500 ms at most), so the first probe after Redis accepts connections
 * again says up. A cluster is up when the node asked says `cluster_state:ok`.
 */
export async function redisUp(redis: QuotaRedis, ms = 1000): Promise<boolean> {
  const started = Date.now();
  if (!(await ready(redis, ms))) return false;
  const left = Math.max(1, ms - (Date.now() - started));
  const timedOut = () => new Error('redis probe timed out');
  try {
    if (redis.isCluster)
      return /cluster_state:ok/.test(await withTimeout((redis as Cluster).cluster('INFO'), left, timedOut));
    return (await withTimeout((redis as Redis).ping(), left, timedOut)) === 'PONG';
  } catch {
    return false;
  }
}
