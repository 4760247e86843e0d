/**
 * Real Redis deployments for tests, from Debian's packages (redis-server, redis-sentinel,
 * redis-tools, openssl): a TLS server with a certificate from a private CA made here, a primary with
 * a replica and three sentinels (here), a cluster of three primaries with one replica each
 * (redis-cluster.ts). Each server runs in its own temporary directory on a free loopback port, so
 * two runs of the suite can share the machine; readiness is polled, never slept for. `close()` kills them and removes
 * the
 * directories (and a process exit kills whatever a crashed test left).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { answers, cli, Group, installed, redisServer, replicated, run, type RedisNode } from './redis-node.js';
import { until } from './smtp.js';

/**
 * Real Redis deployments for tests, from Debian's packages (redis-server, redis-sentinel,
 * redis-tools, openssl): a TLS server with a certificate from a private CA made here, a primary with
 * a replica and three sentinels (here), a cluster of three primaries with one replica each
 * (redis-cluster.ts). Each server runs in its own temporary directory on a free loopback port, so
 * two runs of the suite can share the machine; readiness is polled, never slept for. `close()` kills them and removes
 * the
 * directories (and a process exit kills whatever a crashed test left).
 */
export interface TlsRedis {
  /** `rediss://127.0.0.1:port` */
  url: string;
  /** The private CA that signed the server's certificate (PEM file): REDIS_TLS_CA_FILE. */
  caFile: string;
  close(): Promise<void>;
}

/** A TLS-only redis-server (`--port 0 --tls-port`) whose certificate for 127.0.0.1 a private CA made here signed. */
export async function startTlsRedis(): Promise<TlsRedis> {
  installed();
  const group = new Group();
  try {
    const dir = await group.dir();
    const f = (name: string) => join(dir, name);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await run('openssl', [
      'req',
      '-x509',
      '-new',
      ...ec,
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=HarakaFlow test CA',
    ]);
    await run('openssl', [
      'req',
      '-new',
      ...ec,
      '-keyout',
      f('server.key'),
      '-out',
      f('server.csr'),
      '-subj',
      '/CN=127.0.0.1',
    ]);
    await writeFile(f('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('server.pem'),
      '-days',
      '2',
      '-extfile',
      f('san.cnf'),
    ]);
    const node = await redisServer(group, [], {
      caFile: f('ca.pem'),
      certFile: f('server.pem'),
      keyFile: f('server.key'),
    });
    return { url: `rediss://127.0.0.1:${node.port}`, caFile: f('ca.pem'), close: () => group.close() };
  } catch (error) {
    await group.close();
    throw error;
  }
}

export interface SentinelRedis {
  /** The name the sentinels monitor: REDIS_SENTINEL_NAME. */
  name: string;
  primary: RedisNode;
  replica: RedisNode;
  /** `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`: REDIS_SENTINELS. */
  list: string;
  /** The port the sentinels name as the primary now. */
  primaryPort(): Promise<number>;
  close(): Promise<void>;
}

/**
 * One primary, one replica and three sentinels (quorum 2) that fail over quickly: a primary is
 * down after 1 s without an answer, and a failover that stalls is retried after 4 s.
 */
export async function startSentinelRedis(name = 'hfprimary'): Promise<SentinelRedis> {
  installed();
  const group = new Group();
  try {
    const primary = await redisServer(group);
    const replica = await redisServer(group, ['--replicaof', '127.0.0.1', String(primary.port)]);
    await replicated(primary.port, replica.port);
    const sentinels: RedisNode[] = [];
    for (let i = 0; i < 3; i++) {
      const dir = await group.dir();
      const port = await freePort();
      const conf = [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'logfile redis.log',
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 2000`,
        `sentinel parallel-syncs ${name} 1`,
      ].join('\n');
      await writeFile(join(dir, 'sentinel.conf'), `${conf}\n`);
      sentinels.push(await group.start('redis-sentinel', [join(dir, 'sentinel.conf')], dir, port, () => answers(port)));
    }
    // Ready for a failover once every sentinel knows the replica and the two other sentinels.
    await until(async () => {
      for (const s of sentinels) {
        const quorum = await cli(s.port, ['sentinel', 'ckquorum', name]).catch(() => '');
        const replicas = await cli(s.port, ['sentinel', 'replicas', name]).catch(() => '');
        if (!quorum.includes('3 usable') || !replicas.includes(String(replica.port))) return false;
      }
      return true;
    }, 20_000);
    const primaryPort = async () =>
      Number((await cli(sentinels[0]!.port, ['sentinel', 'get-master-addr-by-name', name])).split(/\r?\n/)[1]);
    return {
      name,
      primary,
      replica,
      list: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      primaryPort,
      close: () => group.close(),
    };
  } catch (error) {
    await group.close();
    throw error;
  }
}
