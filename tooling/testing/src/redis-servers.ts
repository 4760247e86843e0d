/**
 * Real Redis deployments for tests, from Debian's packages (redis-server, redis-sentinel,
 * redis-tools, openssl): a TLS server with a certificate from a private CA made here, a primary with
 * a replica and three sentinels, a cluster of three primaries with one replica each. Each server
 * runs in its own temporary directory on a free loopback port, so two runs of the suite can share
 * the machine; readiness is polled, never slept for. `close()` kills them and removes the
 * directories (and a process exit kills whatever a crashed test left).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { findProgram, startProcess, type StartedProcess } from './processes.js';
import { requireServices } from './services.js';
import { until } from './smtp.js';

const run = promisify(execFile);
const PROGRAMS = ['redis-server', 'redis-sentinel', 'redis-cli', 'openssl'];
const missing = PROGRAMS.filter((p) => !findProgram(p));

/**
 * False when a program is missing and REQUIRE_SERVICES is unset: the tests that need them skip.
 * Under REQUIRE_SERVICES=1 it is true, and starting servers fails, naming what is missing.
 */
export const redisServersAvailable = missing.length === 0 || requireServices;
const installed = () => {
  if (missing.length)
    throw new Error(
      `${missing.join(', ')} is not installed (apt-get install redis-server redis-sentinel redis-tools openssl)`,
    );
};

export interface RedisNode {
  port: number;
  /** SIGKILL (a crash: nothing flushed, no goodbye to replicas or sentinels); resolves once it has exited. */
  kill(): Promise<void>;
}

/** TLS options of `cli` (the private CA of a TLS server). */
type Tls = { caFile: string } | undefined;

/** One redis-cli command against 127.0.0.1:port: its output, trimmed. */
export async function cli(port: number, args: string[], tls?: Tls): Promise<string> {
  const { stdout } = await run(
    'redis-cli',
    ['-h', '127.0.0.1', '-p', String(port), ...(tls ? ['--tls', '--cacert', tls.caFile] : []), ...args],
    { timeout: 5000 },
  );
  return stdout.trim();
}

const answers = (port: number, tls?: Tls) =>
  cli(port, ['ping'], tls).then(
    (out) => out === 'PONG',
    () => false,
  );

/** A group of servers in temporary directories, closed together. */
class Group {
  readonly #started: StartedProcess[] = [];
  readonly #dirs: string[] = [];

  async dir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'hf-redis-'));
    this.#dirs.push(dir);
    return dir;
  }

  /** Starts `program` with `args` in `dir` and waits until `ready` (or fails with its log's tail when it exits first). */
  async start(
    program: string,
    args: string[],
    dir: string,
    port: number,
    ready: () => Promise<boolean>,
  ): Promise<RedisNode> {
    const started = await startProcess(program, args, {
      cwd: dir,
      ready,
      tail: () => this.#tail(dir),
      name: `${program} on port ${port}`,
    });
    this.#started.push(started);
    return { port, kill: () => started.stop('SIGKILL') };
  }

  async #tail(dir: string): Promise<string> {
    return (await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '(no log)')).split('\n').slice(-5).join(' | ');
  }

  async close(): Promise<void> {
    await Promise.all(this.#started.map((started) => started.stop('SIGKILL')));
    await Promise.all(this.#dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** A redis-server on a free port in its own directory: no persistence, loopback only, a replica's first sync at once (not after 5 s). */
async function redisServer(
  group: Group,
  extra: string[] = [],
  tls?: Tls & { certFile: string; keyFile: string },
  port?: number,
): Promise<RedisNode> {
  const dir = await group.dir();
  port ??= await freePort();
  const ports = tls
    ? [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        tls.certFile,
        '--tls-key-file',
        tls.keyFile,
        '--tls-ca-cert-file',
        tls.caFile,
        '--tls-auth-clients',
        'no',
      ]
    : ['--port', String(port)];
  const args = [
    ...ports,
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--logfile',
    'redis.log',
    '--repl-diskless-sync-delay',
    '0',
    ...extra,
  ];
  return group.start('redis-server', args, dir, port, () => answers(port, tls));
}

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

const info = async (port: number, section: string) =>
  Object.fromEntries(
    (await cli(port, ['info', section])).split(/\r?\n/).map((l) => l.split(':', 2) as [string, string]),
  );

/** Waits until `replica` has every write `primary` had when this was called (poll, not sleep). */
export async function replicated(primary: number, replica: number): Promise<void> {
  const offset = Number((await info(primary, 'replication')).master_repl_offset);
  await until(async () => {
    const r = await info(replica, 'replication');
    return r.master_link_status === 'up' && Number(r.slave_repl_offset) >= offset;
  });
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

/** The cluster slot of a key (CRC16/XMODEM of the key, or of its non-empty `{hash tag}`, mod 16384). */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = Buffer.from(close > open + 1 ? key.slice(open + 1, close) : key);
  let crc = 0;
  for (const byte of hashed) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

export interface Shard {
  primary: RedisNode;
  replica: RedisNode;
  serves(key: string): boolean;
}

export interface ClusterRedis {
  nodes: RedisNode[];
  /** `127.0.0.1:p1,...` of every node: REDIS_CLUSTER_NODES. */
  list: string;
  /** The shards as the cluster has them now (primaries with their replica and slots). */
  shards(): Promise<Shard[]>;
  close(): Promise<void>;
}

/** Three primaries with one replica each (`redis-cli --cluster create ... --cluster-replicas 1`), failing over after 1 s. */
export async function startClusterRedis(): Promise<ClusterRedis> {
  installed();
  const group = new Group();
  try {
    const extra = [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      '1000',
      '--cluster-replica-validity-factor',
      '0',
    ];
    // Twelve distinct free ports, taken one after another: each node's and its cluster bus port
    // (given explicitly: by default the bus is port + 10000, past 65535 for much of the ephemeral range).
    const ports = new Set<number>();
    while (ports.size < 12) ports.add(await freePort());
    const [data, bus] = [[...ports].slice(0, 6), [...ports].slice(6)];
    const nodes = await Promise.all(
      data.map((port, i) => redisServer(group, [...extra, '--cluster-port', String(bus[i])], undefined, port)),
    );
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { timeout: 30_000 },
    );
    // Ready once every node sees the whole cluster and every replica is in sync with its primary.
    const ready = async (port: number) => {
      if (!(await cli(port, ['cluster', 'info'])).includes('cluster_state:ok')) return false;
      const r = await info(port, 'replication');
      return r.role === 'master' || r.master_link_status === 'up';
    };
    await until(async () => (await Promise.all(nodes.map((n) => ready(n.port)))).every(Boolean), 20_000);
    const byPort = new Map(nodes.map((n) => [n.port, n]));
    const shards = async (): Promise<Shard[]> => {
      // Asked of the first node that answers (a test may have killed some).
      let text: string | undefined;
      for (const n of nodes)
        if ((text = await cli(n.port, ['cluster', 'nodes']).catch(() => undefined)) !== undefined) break;
      const lines = (text ?? '')
        .split(/\r?\n/)
        .filter(Boolean)
        .map((l) => l.split(' '));
      // <id> <ip:port@cport> <flags> <primary id> <ping> <pong> <epoch> <link> <slot ranges...>
      const portOf = (l: string[]) => Number(/:(\d+)@/.exec(l[1]!)![1]);
      return lines
        .filter((l) => l[2]!.includes('master') && !l[2]!.includes('fail') && l.length > 8)
        .map((l) => {
          const replica = lines.find((r) => r[3] === l[0] && !r[2]!.includes('fail'));
          const ranges = l
            .slice(8)
            .filter((r) => /^\d/.test(r))
            .map((r) => r.split('-').map(Number))
            .map(([from, to]) => [from!, to ?? from!] as [number, number]);
          return {
            primary: byPort.get(portOf(l))!,
            replica: byPort.get(replica ? portOf(replica) : -1)!,
            serves: (key: string) => ranges.some(([from, to]) => keySlot(key) >= from && keySlot(key) <= to),
          };
        });
    };
    return { nodes, list: nodes.map((n) => `127.0.0.1:${n.port}`).join(','), shards, close: () => group.close() };
  } catch (error) {
    await group.close();
    throw error;
  }
}
