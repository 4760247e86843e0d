// Issue 28 item 4: how REDIS_URL, REDIS_TLS_CA_FILE, REDIS_SENTINELS, REDIS_SENTINEL_NAME and
// REDIS_CLUSTER_NODES combine, and the ioredis client each combination builds (no server needed).
import { loadConfig } from '@harakaflow/api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { problemsOf } from './helpers.js';
import { describe, expect, it, onTestFinished } from 'vitest';
import { clientPlan, reconnectDelay, redisCaProblem } from '../src/wiring/redis.js';
import { redisFromEnv } from './redis-failover.js';

describe('the Redis variables', () => {
  it('read host:port lists (IPv6 in brackets) and the sentinel name', () => {
    expect(
      redisFromEnv({
        REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b.internal:26379,[fd00::3]:26380',
        REDIS_SENTINEL_NAME: 'mymaster',
      }),
    ).toMatchObject({
      redisSentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b.internal', port: 26379 },
        { host: 'fd00::3', port: 26380 },
      ],
      redisSentinelName: 'mymaster',
    });
    expect(
      redisFromEnv({ REDIS_CLUSTER_NODES: 'clustercfg.example.cache.amazonaws.com:6379' }).redisClusterNodes,
    ).toEqual([{ host: 'clustercfg.example.cache.amazonaws.com', port: 6379 }]);
  });

  it.each([
    [{ REDIS_SENTINELS: '10.0.0.1' }, 'REDIS_SENTINELS must be a comma-separated list of host:port'],
    [{ REDIS_CLUSTER_NODES: '10.0.0.1:99999' }, 'REDIS_CLUSTER_NODES must be a comma-separated list of host:port'],
    [{ REDIS_SENTINELS: '10.0.0.1:26379' }, 'REDIS_SENTINELS needs REDIS_SENTINEL_NAME'],
    [{ REDIS_SENTINEL_NAME: 'mymaster' }, 'REDIS_SENTINEL_NAME needs REDIS_SENTINELS'],
    [
      { REDIS_SENTINEL_NAME: 'my master', REDIS_SENTINELS: '10.0.0.1:26379' },
      'REDIS_SENTINEL_NAME must be 1 to 64 letters',
    ],
    [
      { REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'm', REDIS_CLUSTER_NODES: '10.0.0.2:6379' },
      'REDIS_SENTINELS and REDIS_CLUSTER_NODES cannot be set together',
    ],
    [
      { REDIS_URL: 'redis://:s3cret-pass@cache:6379', REDIS_TLS_CA_FILE: '/etc/ca.pem' },
      'REDIS_TLS_CA_FILE needs a rediss:// REDIS_URL',
    ],
    [
      { REDIS_CLUSTER_NODES: '10.0.0.2:6379', REDIS_TLS_CA_FILE: '/etc/ca.pem' },
      'REDIS_TLS_CA_FILE needs a rediss:// REDIS_URL',
    ],
    [
      {
        REDIS_URL: 'rediss://:s3cret-pass@10.0.0.9:6379/0',
        REDIS_SENTINELS: '10.0.0.1:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
      },
      "REDIS_URL's host must be REDIS_SENTINEL_NAME",
    ],
    [
      { REDIS_URL: 'rediss://:s3cret-pass@10.0.0.9:6379', REDIS_CLUSTER_NODES: '10.0.0.2:6379' },
      "REDIS_URL's host and port must be one of REDIS_CLUSTER_NODES",
    ],
    [
      { REDIS_URL: 'rediss://:s3cret-pass@10.0.0.2:6379/3', REDIS_CLUSTER_NODES: '10.0.0.2:6379' },
      "REDIS_URL's database must be 0 with REDIS_CLUSTER_NODES",
    ],
    [{ REDIS_URL: 'redis://:s3cret-pass@cache:6379/0?family=6' }, 'REDIS_URL must not carry query options'],
    [{ REDIS_URL: 'redis://:s3cret-pass@cache:6379/x' }, 'REDIS_URL path must be a database number'],
  ])('%o is refused at startup, naming its variables', (env, problem) => {
    const problems = problemsOf(env);
    expect(problems.join('\n')).toContain(problem);
    // A URL may hold a password: never quoted back.
    expect(problems.join('\n')).not.toContain('s3cret-pass');
  });

  it('accept the combinations that agree: a sentinel name as the URL host, a cluster node as the URL host and port', () => {
    expect(
      problemsOf({
        REDIS_URL: 'rediss://app:pw@mymaster/2',
        REDIS_SENTINELS: '10.0.0.1:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_TLS_CA_FILE: '/etc/ca.pem',
      }),
    ).toEqual([]);
    expect(
      problemsOf({ REDIS_URL: 'rediss://app:pw@10.0.0.2:6379', REDIS_CLUSTER_NODES: '10.0.0.2:6379,10.0.0.3:6379' }),
    ).toEqual([]);
    expect(problemsOf({ REDIS_URL: 'rediss://app:pw@10.0.0.2', REDIS_CLUSTER_NODES: '10.0.0.2:6379' })).toEqual([]);
    expect(problemsOf({ REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_NAME: 'mymaster' })).toEqual([]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: '10.0.0.2:6379' })).toEqual([]);
  });

  it('loadConfig checks that REDIS_TLS_CA_FILE is a readable PEM certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-redis-ca-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'not-a-cert.pem'), 'hello');
    const env = { NODE_ENV: 'test', DATA_DIR: dir, REDIS_URL: 'rediss://cache:6379' };
    expect(() => loadConfig({ ...env, REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toThrow(
      /REDIS_TLS_CA_FILE cannot be read \(ENOENT\)/,
    );
    expect(() => loadConfig({ ...env, REDIS_TLS_CA_FILE: join(dir, 'not-a-cert.pem') })).toThrow(
      /REDIS_TLS_CA_FILE is not a PEM certificate/,
    );
    expect(redisCaProblem(join(dir, 'not-a-cert.pem'))).toMatch(/not a PEM certificate/);
  });
});

describe('the client each combination builds', () => {
  const PRIVATE_CA = '-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n';

  it("REDIS_URL: one server with the URL's credentials and database; rediss:// keeps the system CAs and adds the private one", () => {
    const plan = clientPlan(redisFromEnv({ REDIS_URL: 'rediss://app%40x:p%3Ass@cache.internal:6380/4' }), PRIVATE_CA)!;
    expect(plan.mode).toBe('standalone');
    const options = plan.options as Record<string, unknown> & { tls: { ca: string[] } };
    expect(options).toMatchObject({
      host: 'cache.internal',
      port: 6380,
      db: 4,
      username: 'app@x',
      password: 'p:ss',
      enableOfflineQueue: false,
      lazyConnect: true,
      autoResendUnfulfilledCommands: false,
    });
    expect(options.tls.ca).toEqual([...rootCertificates, PRIVATE_CA]);
    expect(
      (clientPlan(redisFromEnv({ REDIS_URL: 'rediss://cache.internal' }))!.options as { tls: object }).tls,
    ).toEqual({});
    expect(
      (clientPlan(redisFromEnv({ REDIS_URL: 'redis://cache.internal' }))!.options as { tls?: object }).tls,
    ).toBeUndefined();
  });

  it("Sentinel: the sentinels and name, the URL's credentials, database and TLS (for the sentinels too), a failover detector", () => {
    const plan = clientPlan(
      redisFromEnv({
        REDIS_URL: 'rediss://:pw@mymaster/1',
        REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
      }),
    )!;
    expect(plan.mode).toBe('sentinel');
    expect(plan.options).toMatchObject({
      name: 'mymaster',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      password: 'pw',
      db: 1,
      tls: {},
      sentinelTLS: {},
      enableTLSForSentinelMode: true,
      failoverDetector: true,
    });
  });

  it("Cluster: the nodes, each connection with the URL's credentials and TLS; no late retries of its own", () => {
    const plan = clientPlan(
      redisFromEnv({ REDIS_URL: 'rediss://app:pw@10.0.0.2:6379', REDIS_CLUSTER_NODES: '10.0.0.2:6379,10.0.0.3:6379' }),
    )!;
    expect(plan.mode).toBe('cluster');
    if (plan.mode !== 'cluster') return;
    expect(plan.nodes).toEqual([
      { host: '10.0.0.2', port: 6379 },
      { host: '10.0.0.3', port: 6379 },
    ]);
    expect(plan.options).toMatchObject({
      enableOfflineQueue: false,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      redisOptions: { username: 'app', password: 'pw', tls: {}, autoResendUnfulfilledCommands: false },
    });
    const looked: unknown[] = [];
    plan.options.dnsLookup!('node-1.example.cache.amazonaws.com', (...result: unknown[]) => looked.push(...result));
    expect(looked).toEqual([null, 'node-1.example.cache.amazonaws.com']);
  });

  it("reconnects with a backoff capped at 500 ms however long the outage (ioredis' default grows to 2 s)", () => {
    expect([1, 2, 5, 10, 100, 10_000].map(reconnectDelay)).toEqual([50, 100, 250, 500, 500, 500]);
    for (const plan of [
      clientPlan(redisFromEnv({ REDIS_URL: 'redis://c' }))!,
      clientPlan(redisFromEnv({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'm' }))!,
    ])
      expect(plan.options).toMatchObject({ retryStrategy: reconnectDelay });
    expect(clientPlan(redisFromEnv({ REDIS_CLUSTER_NODES: 'a:1' }))!.options).toMatchObject({
      clusterRetryStrategy: reconnectDelay,
    });
  });

  it('is none without Redis', () => {
    expect(clientPlan(redisFromEnv({}))).toBeUndefined();
  });
});
