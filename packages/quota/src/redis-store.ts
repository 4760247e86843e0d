/**
 * The Redis store, on any ioredis client: one server, a primary found through Sentinel, or a
 * Cluster. A batch is one pipeline (on a Cluster, one per node: keys grouped by the node serving
 * their slot), each op a single-key command, so nothing is ever refused with CROSSSLOT and the keys
 * keep the names and values rate-limiter-flexible gave them (a string count with a TTL): replicas of
 * the previous version count in the same keys.
 */
import type { Backend, BatchOp, Reading, Taken } from './backend.js';

/** `n` more on a key; its window (ms) starts when it is created. n = 0 reads it (and starts it). */
const ADD = `redis.call('set', KEYS[1], 0, 'PX', ARGV[2], 'NX')
local n = tonumber(ARGV[1])
local c
if n > 0 then c = redis.call('incrby', KEYS[1], n) else c = tonumber(redis.call('get', KEYS[1])) end
local t = redis.call('pttl', KEYS[1])
if t == -1 then redis.call('pexpire', KEYS[1], ARGV[2]) t = tonumber(ARGV[2]) end
return {c, t}`;

/** `n` more on a key only if its count stays within `max`: {count, ttl, 1} when taken, {count, ttl, 0} when not. */
const TAKE = `local n = tonumber(ARGV[1])
local c = tonumber(redis.call('get', KEYS[1]) or '0')
if c + n > tonumber(ARGV[2]) then return {c, redis.call('pttl', KEYS[1]), 0} end
redis.call('set', KEYS[1], 0, 'PX', ARGV[3], 'NX')
c = redis.call('incrby', KEYS[1], n)
local t = redis.call('pttl', KEYS[1])
if t == -1 then redis.call('pexpire', KEYS[1], ARGV[3]) t = tonumber(ARGV[3]) end
return {c, t, 1}`;

/** A key's count and TTL at one instant (a missing key: {false, -2}). */
const READ = `return {redis.call('get', KEYS[1]), redis.call('pttl', KEYS[1])}`;

type Reply = [Error | null, unknown];
interface Pipeline {
  hfQuotaAdd(key: string, n: number, ms: number): Pipeline;
  hfQuotaRead(key: string): Pipeline;
  set(key: string, value: number, px: 'PX', ms: number): Pipeline;
  del(key: string): Pipeline;
  ping(): Pipeline;
  exec(): Promise<Reply[] | null>;
}
/** What this store uses of an ioredis Redis or Cluster. */
interface Client {
  status: string;
  isCluster?: boolean;
  /** Cluster only: slot → the keys of the nodes serving it (primary first). */
  slots?: string[][];
  pipeline(): Pipeline;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  hfQuotaTake?(key: string, n: number, max: number, ms: number): Promise<[number, number, number]>;
  ping(): Promise<string>;
}

const notReady = () =>
  Object.assign(new Error('quota store: Redis is not connected'), { code: 'HF_QUOTA_STORE_NOT_READY' });

const CRC16 = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    table[i] = c;
  }
  return table;
})();

/** A key's Cluster slot (CRC16 of the key, or of its `{hash tag}`), as Redis computes it. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >> 8) ^ byte) & 0xff]!;
  return crc & 16383;
}

const toReading = (reply: unknown): Reading | null => {
  const [count, ttl] = reply as [unknown, unknown];
  if (count === null || count === undefined || count === false) return null;
  return { count: Number(count), ttlMs: Number(ttl) };
};

export class RedisBackend implements Backend {
  readonly #client: Client;

  constructor(client: unknown) {
    this.#client = client as Client;
    // Custom commands: EVALSHA, sent as EVAL on a connection that has not loaded the script yet
    // (a promoted replica after a failover), by ioredis itself. Defined once per client.
    const c = this.#client as unknown as Record<string, unknown>;
    if (typeof c.hfQuotaAdd !== 'function') this.#client.defineCommand('hfQuotaAdd', { numberOfKeys: 1, lua: ADD });
    if (typeof c.hfQuotaTake !== 'function') this.#client.defineCommand('hfQuotaTake', { numberOfKeys: 1, lua: TAKE });
    if (typeof c.hfQuotaRead !== 'function') this.#client.defineCommand('hfQuotaRead', { numberOfKeys: 1, lua: READ });
  }

  /** Ops grouped by the node serving their key (one group without a cluster, or before its slots are known). */
  #groups(keys: readonly string[]): number[][] {
    const all = keys.map((_, i) => i);
    if (!this.#client.isCluster) return [all];
    const groups = new Map<string, number[]>();
    for (const i of all) {
      const slot = keySlot(keys[i]!);
      const nodes = this.#client.slots?.[slot];
      const group = nodes?.length ? nodes.join() : `slot:${slot}`;
      let list = groups.get(group);
      if (!list) groups.set(group, (list = []));
      list.push(i);
    }
    return [...groups.values()];
  }

  async batch(ops: readonly BatchOp[]): Promise<(Reading | null | Error)[]> {
    const client = this.#client;
    if (client.status !== 'ready') throw notReady();
    if (!ops.length) {
      await client.ping();
      return [];
    }
    const results: (Reading | null | Error)[] = new Array(ops.length);
    await Promise.all(
      this.#groups(ops.map((o) => o.key)).map(async (group) => {
        const pipeline = client.pipeline();
        for (const i of group) {
          const o = ops[i]!;
          if (o.op === 'add') pipeline.hfQuotaAdd(o.key, o.n, o.ms);
          else if (o.op === 'set') pipeline.set(o.key, o.n, 'PX', o.ms);
          else pipeline.hfQuotaRead(o.key);
        }
        let replies: Reply[] | null;
        try {
          replies = await pipeline.exec();
        } catch (error) {
          for (const i of group) results[i] = error as Error;
          return;
        }
        group.forEach((i, j) => {
          const [error, reply] = replies?.[j] ?? [notReady(), null];
          const o = ops[i]!;
          results[i] = error ?? (o.op === 'set' ? { count: o.n, ttlMs: o.ms } : toReading(reply));
        });
      }),
    );
    // A failure of every part is the store's failure, not a key's.
    if (results.length && results.every((r) => r instanceof Error)) throw results[0];
    return results;
  }

  async take(key: string, n: number, max: number, ms: number): Promise<Taken> {
    if (this.#client.status !== 'ready') throw notReady();
    const [count, ttl, taken] = await this.#client.hfQuotaTake!(key, n, max, ms);
    return { allowed: Number(taken) === 1, count: Number(count), ttlMs: Number(ttl) };
  }

  async del(keys: readonly string[]): Promise<void> {
    if (this.#client.status !== 'ready') throw notReady();
    await Promise.all(
      this.#groups(keys).map(async (group) => {
        const pipeline = this.#client.pipeline();
        for (const i of group) pipeline.del(keys[i]!);
        const replies = await pipeline.exec();
        const failed = replies?.find(([error]) => error);
        if (failed) throw failed[0];
      }),
    );
  }

  close(): void {}
}
