/** A Redis Cluster for tests: three primaries with one replica each, and the slot of a key. */
import { freePort } from './ports.js';
import { cli, Group, info, installed, redisServer, run, type RedisNode } from './redis-node.js';
import { until } from './smtp.js';

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

/**
 * Three primaries with one replica each (`redis-cli --cluster create ... --cluster-replicas 1`), failing over after 1
 * s.
 */
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
