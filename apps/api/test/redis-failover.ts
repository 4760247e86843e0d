// What the managed-Redis tests share (issue 28 item 4): apps built from the REDIS_* variables, two of
// them on one Redis, and a run of requests through the death of a primary that records what each
// instance answered and what /health said, in order.
import { parseConfig, type AppConfig } from '@harakaflow/api';
import { redisCli, until, type TestDatabase } from '@harakaflow/testing';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { RedisSettings } from '../src/wiring/redis.js';
import { testApp, testConfig } from './helpers.js';

/** The Redis part of the configuration as the app reads it from these variables. */
export function redisFromEnv(env: Record<string, string>): RedisSettings {
  const c = parseConfig({ NODE_ENV: 'test', ...env });
  return {
    redisUrl: c.redisUrl,
    redisTlsCaFile: c.redisTlsCaFile,
    redisSentinels: c.redisSentinels,
    redisSentinelName: c.redisSentinelName,
    redisClusterNodes: c.redisClusterNodes,
  };
}

/** Anonymous requests per minute per IP in these tests; bans come only from `quota.ban`. */
export const LIMIT = 60;

/** An app on the Redis these variables name, its logs captured. */
export function redisApp(database: TestDatabase, env: Record<string, string>, overrides: Partial<AppConfig> = {}) {
  return testApp(database, { ...redisFromEnv(env), quotaAnonRpm: LIMIT, quotaBanAfter: 100_000, ...overrides });
}

const ping = (app: FastifyInstance, ip: string) =>
  app.inject({ url: '/v1/ping', remoteAddress: ip }).then((r) => r.statusCode);
export const quotaHealth = async (app: FastifyInstance) =>
  ((await app.inject('/health')).json() as { quota: string }).quota;

let ipSeq = 0;
/** An IP no other test of this process used. */
export const freshIp = () => `198.18.${(process.pid + ipSeq) % 250}.${++ipSeq % 250}`;

/** Three apps on the Redis these variables name: two that share clients, and a third that sees none before a failover (nothing cached). */
export async function threeApps(
  database: TestDatabase,
  env: Record<string, string>,
  overrides: Partial<AppConfig> = {},
) {
  const made = await Promise.all([0, 1, 2].map(() => redisApp(database, env, overrides)));
  return { apps: made.map((m) => m.app) as [FastifyInstance, FastifyInstance, FastifyInstance], logs: made[0]!.logs };
}

/**
 * Both instances write their counts (request limits are counted per replica and written behind,
 * every 50 ms) and read the store's again on their next decision: what a test waits for before it
 * expects one replica to see another's requests.
 */
export async function synced(...apps: FastifyInstance[]): Promise<boolean> {
  let ok = true;
  for (const app of apps) ok = (await app.quota.sync()) && ok;
  return ok;
}

/**
 * Two instances share one limit and one ban: the limit used up half on each is refused by both
 * once each has written its counts; a ban made on one is refused by the other (which never saw the
 * client before).
 */
export async function expectShared(a: FastifyInstance, b: FastifyInstance): Promise<void> {
  const ip = freshIp();
  const codes = [];
  for (let i = 0; i < LIMIT; i++) codes.push(await ping(i % 2 ? b : a, ip));
  expect(codes.every((c) => c === 200)).toBe(true);
  expect(await synced(a, b)).toBe(true);
  expect([await ping(a, ip), await ping(b, ip)]).toEqual([429, 429]);
  const banned = freshIp();
  await a.quota.ban(a.quota.clientKey({ ip: banned } as never), 600, 'test');
  expect(await ping(b, banned)).toBe(403);
}

interface FailoverRun {
  /** ms from the kill until /health said quota up on both instances after having said down on one (-1: never said down). */
  healthBackMs: number;
  /** ms from the kill until a new client's requests were counted once for both instances again. */
  sharedBackMs: number;
  /** Per client: requests admitted after the kill, beyond the limit every one had used up before it. */
  overAdmitted: number[];
  /** Every status code answered during the run. */
  codes: Set<number>;
  /** /health's quota answers on instance a, in order, from just before the kill. */
  health: string[];
  /** Requests per client per instance per second until limits were shared again (as sent, not as planned). */
  rate: number;
  /** The client banned before the kill. */
  banned: string;
}

/** What the RateLimit field says remains. */
const remaining = (header: unknown) => Number(/;r=(\d+)/.exec(String(header))?.[1] ?? -1);

/** Which store keys a client's limit and ban live under (a cluster test picks clients on the shard it kills). */
const limitKey = (app: FastifyInstance, ip: string) =>
  `${testConfig().quotaKeyPrefix}anonymous.minute:${app.quota.clientKey({ ip } as never)}`;
export const banKey = (app: FastifyInstance, ip: string) =>
  `${testConfig().quotaKeyPrefix}bans:${app.quota.clientKey({ ip } as never)}`;

/** `pick`: keep only clients whose store key (of their limit or their ban) it accepts. */
type Pick = (key: string) => boolean;
const pickIp = (app: FastifyInstance, pick: Pick | undefined, keyOf: typeof limitKey) => {
  for (;;) {
    const ip = freshIp();
    if (!pick || pick(keyOf(app, ip))) return ip;
  }
};

/** A new client's requests on a, b, a, each instance syncing after its own: shared counters leave LIMIT-1, LIMIT-2, LIMIT-3. */
async function counted(a: FastifyInstance, b: FastifyInstance, pick?: Pick): Promise<boolean> {
  const ip = pickIp(a, pick, limitKey);
  const left = [];
  for (const app of [a, b, a]) {
    left.push(remaining((await app.inject({ url: '/v1/ping', remoteAddress: ip })).headers.ratelimit));
    if (!(await synced(app))) return false;
  }
  return left.join() === [LIMIT - 1, LIMIT - 2, LIMIT - 3].join();
}

/**
 * Uses up the limit of `clients` IPs (split over both instances) and bans one more, waits for
 * `settled` (the writes reached the replica), kills the primary, and sends every client's request
 * to both instances every `paceMs` until a new client is counted once for both again and /health
 * says up on both. /health is probed meanwhile, one probe at a time.
 */
export async function runThroughFailover(
  a: FastifyInstance,
  b: FastifyInstance,
  o: { settled: () => Promise<void>; kill: () => Promise<void>; pick?: Pick; clients?: number; paceMs?: number },
): Promise<FailoverRun> {
  const clients = Array.from({ length: o.clients ?? 4 }, () => pickIp(a, o.pick, limitKey));
  const paceMs = o.paceMs ?? 50;
  for (const ip of clients) {
    for (let i = 0; i < LIMIT; i++) expect(await ping(i % 2 ? b : a, ip)).toBe(200);
    expect(await synced(a, b)).toBe(true);
    expect(await ping(a, ip)).toBe(429);
  }
  const banned = pickIp(a, o.pick, banKey);
  await a.quota.ban(a.quota.clientKey({ ip: banned } as never), 600, 'test');
  expect(await ping(b, banned)).toBe(403);
  expect(await counted(a, b, o.pick)).toBe(true);
  // Every count written before the primary's replica is asked whether it has them.
  expect(await synced(a, b)).toBe(true);
  await o.settled();
  const health = [await quotaHealth(a)];

  const started = Date.now();
  await o.kill();
  const codes = new Set<number>();
  const admitted = clients.map(() => 0);
  let healthBackMs = -1;
  let sharedBackMs = -1;
  let bothUp = false;
  let running = true;
  // Beside the requests: /health on both instances, and whether a new client is counted once for both.
  const watch = (async () => {
    while (running) {
      const [ha, hb, shared] = await Promise.all([
        quotaHealth(a),
        quotaHealth(b),
        sharedBackMs < 0 ? counted(a, b, o.pick) : true,
      ]);
      health.push(ha);
      bothUp = ha === 'up' && hb === 'up';
      if (healthBackMs < 0 && health.includes('down') && bothUp) healthBackMs = Date.now() - started;
      if (sharedBackMs < 0 && shared) sharedBackMs = Date.now() - started;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let rounds = 0;
  try {
    while (Date.now() - started < 40_000 && !(sharedBackMs >= 0 && bothUp)) {
      const round = Date.now();
      // Every client at once on both instances, as concurrent clients would be.
      await Promise.all([
        ...clients.flatMap((ip, i) =>
          [a, b].map(async (app) => {
            const code = await ping(app, ip);
            codes.add(code);
            if (code === 200) admitted[i]!++;
          }),
        ),
        ...[a, b].map(async (app) => void codes.add(await ping(app, banned))),
      ]);
      if (sharedBackMs < 0) rounds++;
      await new Promise((r) => setTimeout(r, Math.max(0, paceMs - (Date.now() - round))));
    }
  } finally {
    running = false;
    await watch;
  }
  // Shared again: every client's limit, used up before the kill, is refused by both instances
  // (what they count now read from the promoted replica). A hang guard well past any failover: on
  // a machine running a second suite beside this one, a sentinel whose timer runs 2 s late enters
  // TILT mode and does nothing for 30 s, so the promotion can come after the minute until waits by
  // default (a parallel run failed here with CI beside it).
  await until(() => synced(a, b), 300_000);
  for (const ip of clients) expect([await ping(a, ip), await ping(b, ip)]).toEqual([429, 429]);
  return {
    healthBackMs,
    sharedBackMs,
    overAdmitted: admitted,
    codes,
    health,
    rate: Math.round((rounds * 1000) / sharedBackMs),
    banned,
  };
}

/**
 * What every failover must leave: answers throughout (admitted, limited or banned, never an error:
 * the routes fail open), each instance's insurance limiter admitting on its own but never more than
 * its own limit per client, and the ban in the promoted replica, refused by `fresh` (an instance that
 * never saw the client; its first calls after the failover may outlast the store timeout).
 */
export async function expectFailoverHeld(
  run: FailoverRun,
  fresh: FastifyInstance,
  promotedPort: number,
): Promise<void> {
  expect([...run.codes].filter((code) => ![200, 403, 429].includes(code))).toEqual([]);
  for (const n of run.overAdmitted) {
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(2 * LIMIT);
  }
  expect(Number(await redisCli(promotedPort, ['pttl', banKey(fresh, run.banned)]))).toBeGreaterThan(0);
  await until(async () => (await fresh.inject({ url: '/v1/ping', remoteAddress: run.banned })).statusCode === 403);
}
