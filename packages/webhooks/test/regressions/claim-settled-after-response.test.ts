// Issue 13 item 14: the inbound claim was settled in onResponse, after the answer had left, so a
// sender's retry or replay fired the moment it read the answer still found the delivery "in
// progress" (409). The claim is now settled before the response is sent. Each store is driven over
// a real socket (keep-alive, the next request written as soon as the previous answer is read) and
// through inject, 200 times.
import { testDatabase, testRedis, type TestDatabase } from '@harakaflow/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { request as httpRequest, Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import webhooks, {
  generateSecret,
  memorySecretStore,
  redisReplayStore,
  signWebhook,
  webhooksMigrations,
  type ReplayStore,
} from '../../src/index.js';
import { memoryReplayStore, postgresReplayStore } from '../../src/internals.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await testDatabase({ migrations: [webhooksMigrations] });
});
afterAll(() => db.close());

const SECRET = generateSecret();
const ROUNDS = 200;

async function app(store: ReplayStore): Promise<{ instance: FastifyInstance; handled: () => number }> {
  let handled = 0;
  const failedOnce = new Set<number>();
  const instance = Fastify();
  await instance.register(webhooks, { db: db.db, secrets: memorySecretStore(), dispatch: false, replayStore: store });
  instance.post('/hook', { config: { webhook: { scheme: 'standard', secrets: [SECRET] } } }, async (request) => {
    const body = request.body as { n: number; fail?: boolean };
    if (body.fail && !failedOnce.has(body.n)) {
      failedOnce.add(body.n); // the first attempt fails, its retry succeeds
      throw new Error('handler failed');
    }
    handled++;
    return { ok: true };
  });
  await instance.listen({ port: 0, host: '127.0.0.1' });
  onTestFinished(() => instance.close());
  return { instance, handled: () => handled };
}

function delivery(n: number, fail: boolean) {
  const body = JSON.stringify({ n, fail });
  return {
    body,
    headers: {
      ...signWebhook({
        id: `msg_${process.pid}_${n}_${fail ? 1 : 0}_${Date.now()}_${Math.random().toString(36).slice(2)}`,
        timestamp: new Date(),
        payload: body,
        secrets: SECRET,
      }),
      'content-type': 'application/json',
    },
  };
}

function send(
  port: number,
  agent: Agent,
  d: { body: string; headers: Record<string, string> },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/hook', method: 'POST', agent, headers: d.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(d.body);
  });
}

async function exercise(store: ReplayStore) {
  const { instance } = await app(store);
  const port = (instance.server.address() as { port: number }).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  onTestFinished(() => agent.destroy());
  const wrong: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    // A replay of a delivery that was handled is acknowledged as a duplicate at once.
    const ok = delivery(i, false);
    const first = await send(port, agent, ok);
    const replay = await send(port, agent, ok);
    if (first.status !== 200 || replay.status !== 200 || JSON.parse(replay.body).duplicate !== true)
      wrong.push(`replay ${i}: ${first.status} then ${replay.status} ${replay.body}`);
    // The retry of a delivery whose handler failed is processed at once.
    const failing = delivery(i, true);
    const failed = await send(port, agent, failing);
    const retry = await send(port, agent, failing);
    if (failed.status !== 500 || retry.status !== 200 || JSON.parse(retry.body).ok !== true)
      wrong.push(`retry ${i}: ${failed.status} then ${retry.status} ${retry.body}`);
    // The same through inject, which resolves as soon as the answer is written.
    const injected = delivery(i + ROUNDS, false);
    const a = await instance.inject({
      method: 'POST',
      url: '/hook',
      payload: injected.body,
      headers: injected.headers,
    });
    const b = await instance.inject({
      method: 'POST',
      url: '/hook',
      payload: injected.body,
      headers: injected.headers,
    });
    if (a.statusCode !== 200 || b.statusCode !== 200 || b.json().duplicate !== true)
      wrong.push(`inject ${i}: ${a.statusCode} then ${b.statusCode} ${b.body}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
}

/** A store whose writes take a little while, as any networked store's do. */
function slowWrites(store: ReplayStore, ms: number): ReplayStore {
  const wait = () => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    claim: (key, ttl) => store.claim(key, ttl),
    complete: async (key, ttl) => {
      await wait();
      await store.complete(key, ttl);
    },
    release: async (key) => {
      await wait();
      await store.release(key);
    },
  };
}

describe('an inbound claim is settled before the answer leaves', async () => {
  const redis = await testRedis();
  it('memory store', () => exercise(memoryReplayStore()));
  it('a store whose writes take 2 ms', () => exercise(slowWrites(memoryReplayStore(), 2)));
  it('postgres store', () => exercise(postgresReplayStore(db.db)));
  it.skipIf(!redis)('redis store', async () => {
    onTestFinished(() => redis!.close());
    await exercise(redisReplayStore(redis!.client, redis!.prefix));
  });
});
